"""Labels by cross-match: catalogue object types folded into lcrnn's super-classes (paper section 2.2).

The paper labelled GOTO objects by matching their positions to catalogues of known sources (the AAVSO
variable star index, the Veron quasar catalogue, the Transient Name Server) and folding the hundreds of
catalogue types into three super-classes, VS, SN and AGN. Here the folding lives in an editable mapping
file (``label_maps/default.json``), read by :func:`load_label_map`; :func:`cross_match_labels` matches
objects to any number of catalogues with astropy and reports objects whose catalogues disagree instead of
guessing their class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.errors import InvalidTableError

__all__ = [
    "CATALOG_ALIASES",
    "Catalog",
    "CrossMatchResult",
    "LabelMap",
    "TypeMatch",
    "cross_match_labels",
    "load_label_map",
    "read_catalog",
    "read_table_file",
]

# Column names catalogues use for position and type, tried case-insensitively in this order.
CATALOG_ALIASES: dict[str, tuple[str, ...]] = {
    "ra": ("ra", "ra_deg", "radeg", "raj2000", "_raj2000", "ra_icrs", "ra (j2000)", "ra_j2000", "alpha"),
    "dec": ("dec", "dec_deg", "decdeg", "dej2000", "decj2000", "_dej2000", "dec_icrs", "dec (j2000)",
            "dec_j2000", "delta", "de"),
    "type": ("type", "vartype", "var_type", "claimedtype", "obj_type", "objtype", "otype", "classification",
             "class", "mantra_label", "sp", "cl", "label"),
    "name": ("name", "object_id", "id", "#crts id", "crts_id", "main_id", "oid", "designation", "transientid"),
}

_WHITESPACE = re.compile(r"\s+")


def _normalise(raw: Any) -> str:
    """Type strings compared with surrounding space removed and inner runs of space collapsed."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or raw is pd.NA:
        return ""
    return _WHITESPACE.sub(" ", str(raw)).strip()


@dataclass(frozen=True)
class TypeMatch:
    """How one catalogue type folds into a super-class.

    Parameters
    ----------
    label : str or None
        The super-class, or None when the type is left unlabelled.
    uncertain : bool
        Whether the catalogue flagged the type as uncertain (``"SN?"``, ``"EA:"``).
    reason : str
        ``"mapped"``, ``"untyped"`` (a candidate or unknown), ``"unknown"`` (not in the mapping) or
        ``"ambiguous"`` (a composite whose parts name different classes, e.g. ``"SN/CV"``).
    """

    label: str | None
    uncertain: bool = False
    reason: str = "mapped"


@dataclass(frozen=True)
class LabelMap:
    """An editable folding of catalogue object types into super-classes; build it with :func:`load_label_map`.

    Parameters
    ----------
    classes : tuple of str
        The super-classes, e.g. ``("VS", "SN", "AGN")``.
    exact : mapping of str to str
        Type string (whitespace-normalised, case kept) to class.
    caseless : mapping of str to str or None
        Lower-cased type to class, None where two classes share it case-insensitively (``IA`` vs ``Ia``).
    patterns : tuple of (compiled regex, class)
        Tried in order after the exact lookups.
    untyped : frozenset of str
        Lower-cased types that mean "no class" (``Candidate``, ``Unknown``).
    modifiers : frozenset of str
        Parts of composite types that carry no class (``BL`` in ``RRAB/BL`` is the Blazhko effect).
    uncertain_markers : tuple of str
        Suffixes that flag an uncertain type.
    separators : tuple of str
        Characters that join the parts of a composite type.
    """

    classes: tuple[str, ...]
    exact: Mapping[str, str]
    caseless: Mapping[str, str | None]
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    untyped: frozenset[str]
    modifiers: frozenset[str]
    uncertain_markers: tuple[str, ...] = ("?", ":")
    separators: tuple[str, ...] = ("/", "|", "+")

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], source: str = "mapping") -> LabelMap:
        """Build from the parsed mapping file (see ``label_maps/default.json`` for the layout)."""
        try:
            types: Mapping[str, Sequence[str]] = spec["types"]
        except (KeyError, TypeError):
            raise InvalidTableError(
                f"{source} has no 'types' object; it must map each class to a list of catalogue types, "
                'e.g. {"types": {"VS": ["EA", "RRAB"], "SN": ["SN Ia"], "AGN": ["QSO"]}}.'
            ) from None
        classes = tuple(str(c) for c in spec.get("classes", types.keys()))
        unknown = sorted(set(types) - set(classes)) + sorted(set(spec.get("patterns", {})) - set(classes))
        if unknown:
            raise InvalidTableError(
                f"{source} maps types to {', '.join(unknown)}, which are not in its 'classes' "
                f"({', '.join(classes)}); add them to 'classes' or fix the spelling."
            )
        exact: dict[str, str] = {}
        caseless: dict[str, str | None] = {}
        for label, names in types.items():
            for name in names:
                key = _normalise(name)
                if exact.get(key, label) != label:
                    raise InvalidTableError(
                        f"{source} lists type {name!r} under both {exact[key]!r} and {label!r}; keep one."
                    )
                exact[key] = label
                low = key.lower()
                caseless[low] = label if caseless.get(low, label) == label else None
        patterns = []
        for label, entries in spec.get("patterns", {}).items():
            for entry in entries:
                flags = re.IGNORECASE if entry.get("ignore_case", True) else 0
                try:
                    patterns.append((re.compile(entry["regex"], flags), str(label)))
                except (KeyError, re.error) as exc:
                    raise InvalidTableError(f"{source}: bad pattern {entry!r} for {label!r} ({exc}).") from None
        return cls(
            classes=classes,
            exact=exact,
            caseless=caseless,
            patterns=tuple(patterns),
            untyped=frozenset(_normalise(t).lower() for t in spec.get("untyped", ())),
            modifiers=frozenset(_normalise(t).lower() for t in spec.get("modifiers", ())),
            uncertain_markers=tuple(spec.get("uncertain_markers", ("?", ":"))),
            separators=tuple(spec.get("composite_separators", ("/", "|", "+"))),
        )

    def _whole(self, key: str) -> str | None:
        if key in self.exact:
            return self.exact[key]
        if key.lower() in self.caseless:
            return self.caseless[key.lower()]  # None when the type is ambiguous without its case
        for pattern, label in self.patterns:
            if pattern.fullmatch(key):
                return label
        return None

    def classify(self, raw_type: Any) -> TypeMatch:
        """Fold one catalogue type into a super-class.

        Parameters
        ----------
        raw_type : str
            The type as the catalogue spells it, e.g. ``"RRAB"``, ``"SN Ia"``, ``"Blazar?"``, ``"EA/RS"``.

        Returns
        -------
        TypeMatch
            The class (or None) with the uncertainty flag and the reason.
        """
        key = _normalise(raw_type)
        if key.lower() in self.untyped:
            return TypeMatch(None, reason="untyped")
        label = self._whole(key)
        if label is not None:
            return TypeMatch(label)
        if key not in self.exact and self.caseless.get(key.lower(), "") is None:
            return TypeMatch(None, reason="ambiguous")  # e.g. 'ia': GCVS 'IA' or supernova 'Ia'?
        for marker in self.uncertain_markers:
            if key.endswith(marker) and len(key) > len(marker):
                inner = self.classify(key[: -len(marker)])
                return TypeMatch(inner.label, True, inner.reason) if inner.reason != "untyped" else inner
        pieces = [key]
        for sep in self.separators:
            pieces = [p for piece in pieces for p in piece.split(sep)]
        pieces = [p.strip() for p in pieces if p.strip() and p.strip().lower() not in self.modifiers]
        if len(pieces) > 1 or (len(pieces) == 1 and pieces[0] != key):
            parts = [self.classify(p) for p in pieces]
            found = {p.label for p in parts}
            if None not in found and len(found) == 1:
                return TypeMatch(found.pop(), any(p.uncertain for p in parts))
            if len(found - {None}) > 1:
                return TypeMatch(None, reason="ambiguous")
        return TypeMatch(None, reason="unknown")

    def map_types(self, types: Iterable[Any], include_uncertain: bool = True) -> pd.Series:
        """Super-class of each type, missing where the type is untyped, unknown, ambiguous or excluded.

        Parameters
        ----------
        types : iterable of str
            Catalogue types.
        include_uncertain : bool
            Keep uncertain types (``"SN?"``) with their class; False leaves them unlabelled.

        Returns
        -------
        Series of str
            One label per type (``str`` dtype, missing as NA), on a fresh RangeIndex.
        """
        cache: dict[str, TypeMatch] = {}
        out = []
        for raw in types:
            key = _normalise(raw)
            match = cache.setdefault(key, self.classify(key))
            keep = match.label is not None and (include_uncertain or not match.uncertain)
            out.append(match.label if keep else None)
        return pd.Series(out, dtype="str")


def load_label_map(path: str | Path | None = None) -> LabelMap:
    """Read a type-to-class mapping file; without a path, the packaged default (VS / SN / AGN).

    Parameters
    ----------
    path : str or Path, optional
        A JSON file laid out like ``lcrnn/data/label_maps/default.json``: ``classes``, ``types`` (class ->
        list of types), optional ``patterns``, ``untyped``, ``modifiers``, ``uncertain_markers`` and
        ``composite_separators``. Copy the default to start a new one.

    Returns
    -------
    LabelMap

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InvalidTableError
        If the file is not valid JSON or not laid out as above.
    """
    if path is None:
        text = resources.files("lcrnn.data").joinpath("label_maps/default.json").read_text(encoding="utf-8")
        source = "the default label map"
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"label mapping file {path} does not exist; copy lcrnn's "
                                    "data/label_maps/default.json and edit it.")
        text = path.read_text(encoding="utf-8")
        source = f"label mapping file {path}"
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidTableError(f"{source} is not valid JSON: {exc}.") from None
    return LabelMap.from_dict(spec, source)


# ----------------------------------------------------------------------------------------------------------
# Catalogues


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read a table from Parquet, CSV, TSV or anything astropy reads (FITS, VOTable, ECSV).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataFrame

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table file {path} does not exist.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".csv.gz"):
        return pd.read_csv(path)
    if suffix in (".tsv", ".tsv.gz", ".tab", ".txt"):
        return pd.read_csv(path, sep="\t")
    from astropy.table import Table

    return Table.read(path).to_pandas()


def _find_column(columns: Sequence[str], role: str, given: str | None, source: str) -> str:
    if given is not None:
        if given not in columns:
            raise InvalidTableError(
                f"{source} has no column {given!r}; columns found: {', '.join(columns)}."
            )
        return given
    lowered = {c.lower().strip(): c for c in reversed(list(columns))}
    for alias in CATALOG_ALIASES[role]:
        if alias in lowered:
            return lowered[alias]
    raise InvalidTableError(
        f"{source} has no {role} column (looked for, in any case: {', '.join(CATALOG_ALIASES[role])}); "
        f"columns found: {', '.join(columns)}. Name it with the {role}_column argument (--{role}-column)."
    )


def _degrees(ra: pd.Series, dec: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in degrees; sexagesimal strings ('16:16:34.06', '-00:35:27.4') are parsed by astropy."""
    ra_num = pd.to_numeric(ra, errors="coerce")
    dec_num = pd.to_numeric(dec, errors="coerce")
    if ra_num.notna().sum() >= ra.notna().sum() and dec_num.notna().sum() >= dec.notna().sum():
        return ra_num.to_numpy(np.float64), dec_num.to_numpy(np.float64)
    import astropy.units as u
    from astropy.coordinates import Angle

    def parse(values: pd.Series, unit: Any) -> np.ndarray:
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            try:
                out[i] = Angle(v, unit=unit).deg
            except (ValueError, TypeError):
                pass
        return out

    return parse(ra, u.hourangle), parse(dec, u.deg)


@dataclass(frozen=True)
class Catalog:
    """A catalogue of known sources: ``name, ra, dec, type`` (degrees), plus a short name for reports.

    Parameters
    ----------
    name : str
        How reports name the catalogue (the file stem by default).
    table : DataFrame
        Columns ``source, ra, dec, type`` with finite coordinates.
    """

    name: str
    table: pd.DataFrame


def read_catalog(
    source: str | Path | pd.DataFrame,
    name: str | None = None,
    ra_column: str | None = None,
    dec_column: str | None = None,
    type_column: str | None = None,
    name_column: str | None = None,
) -> Catalog:
    """Read a catalogue of known sources: any table with RA, Dec (degrees or sexagesimal) and a type.

    Parameters
    ----------
    source : str, Path or DataFrame
        A table file (see :func:`read_table_file`) or a frame.
    name : str, optional
        Name used in reports; defaults to the file stem (``"catalog"`` for a frame).
    ra_column, dec_column, type_column, name_column : str, optional
        Column names; found automatically from :data:`CATALOG_ALIASES` when omitted (numeric columns
        such as ``ra_deg`` win over sexagesimal ``ra`` strings). Without a name column the row number is used.

    Returns
    -------
    Catalog

    Raises
    ------
    InvalidTableError
        If a column cannot be found, or no row has usable coordinates.
    """
    if isinstance(source, pd.DataFrame):
        frame, label = source, name or "catalog"
    else:
        frame, label = read_table_file(source), name or Path(source).name.split(".")[0]
    where = f"catalogue {label!r}"
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if ra_column is None and dec_column is None:
        # Prefer a numeric pair in degrees when the catalogue carries both forms (OSC: ra and ra_deg).
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
        try:
            ra_column = _find_column(numeric, "ra", None, where)
            dec_column = _find_column(numeric, "dec", None, where)
        except InvalidTableError:
            ra_column = dec_column = None
    ra_col = _find_column(columns, "ra", ra_column, where)
    dec_col = _find_column(columns, "dec", dec_column, where)
    type_col = _find_column(columns, "type", type_column, where)
    try:
        name_col: str | None = _find_column(columns, "name", name_column, where)
    except InvalidTableError:
        if name_column is not None:
            raise
        name_col = None
    ra, dec = _degrees(frame[ra_col], frame[dec_col])
    table = pd.DataFrame({
        "source": frame[name_col].astype("str") if name_col else pd.Series(np.arange(len(frame))).astype("str"),
        "ra": ra,
        "dec": dec,
        "type": frame[type_col].astype("str"),
    })
    table = table[np.isfinite(table["ra"]) & np.isfinite(table["dec"])].reset_index(drop=True)
    if table.empty:
        raise InvalidTableError(
            f"{where} has no row with finite coordinates in columns {ra_col!r}, {dec_col!r}; "
            "name the right ones with ra_column/dec_column."
        )
    return Catalog(label, table)


# ----------------------------------------------------------------------------------------------------------
# Cross-match


@dataclass(frozen=True)
class CrossMatchResult:
    """Labels found by cross-match, and the objects left unlabelled because their catalogues disagree.

    Parameters
    ----------
    labels : DataFrame
        One row per input object, in input order: ``object_id``, ``label`` (missing when unmatched,
        unmapped or conflicting), ``n_matches`` (catalogues whose nearest source lies within the radius),
        ``matched`` (``"catalog:type@sep"`` entries joined by ``"; "``), ``separation_arcsec`` (to the
        nearest match whose type folded into a class, NaN when none).
    conflicts : DataFrame
        One row per (object, catalogue) match of each conflicting object: ``object_id, catalog, source,
        type, class, separation_arcsec``.
    """

    labels: pd.DataFrame
    conflicts: pd.DataFrame

    @property
    def n_conflicts(self) -> int:
        """Number of objects left unlabelled because two catalogues name different classes."""
        return int(self.conflicts["object_id"].nunique()) if len(self.conflicts) else 0

    def class_counts(self) -> dict[str, int]:
        """Labelled objects per class."""
        return {str(k): int(v) for k, v in self.labels["label"].value_counts().sort_index().items()}


def cross_match_labels(
    objects: pd.DataFrame,
    catalogs: Sequence[Catalog | pd.DataFrame],
    radius_arcsec: float = 2.0,
    mapping: LabelMap | None = None,
    include_uncertain: bool = True,
) -> CrossMatchResult:
    """Label objects by their nearest counterpart in catalogues of known sources (paper section 2.2).

    For each catalogue, each object is matched to its nearest source (astropy ``match_coordinates_sky``);
    a match counts when it lies within ``radius_arcsec`` and its type folds into a class. An object whose
    matches all agree takes that class; one whose catalogues name different classes is left unlabelled and
    listed in ``conflicts``, never guessed.

    Parameters
    ----------
    objects : DataFrame
        ``object_id, ra, dec`` in degrees (ICRS).
    catalogs : sequence of Catalog or DataFrame
        Catalogues from :func:`read_catalog` (frames are passed through it with column auto-detection).
    radius_arcsec : float
        Largest separation of a match.
    mapping : LabelMap, optional
        Type folding; the packaged default when omitted.
    include_uncertain : bool
        Whether uncertain types (``"SN?"``, ``"EA:"``) count.

    Returns
    -------
    CrossMatchResult

    Raises
    ------
    InvalidTableError
        If the objects lack ``object_id``, ``ra`` or ``dec``, or the radius is not positive.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord, match_coordinates_sky

    missing = [c for c in ("object_id", "ra", "dec") if c not in objects.columns]
    if missing:
        raise InvalidTableError(
            f"the objects table has no {', '.join(missing)} column(s); columns found: "
            f"{', '.join(map(str, objects.columns))}. It needs object_id, ra, dec (degrees)."
        )
    if not radius_arcsec > 0:
        raise InvalidTableError(f"the match radius must be positive, not {radius_arcsec!r} arcsec.")
    mapping = mapping or load_label_map()
    cats = [c if isinstance(c, Catalog) else read_catalog(c, name=f"catalog{i}") for i, c in enumerate(catalogs)]
    ids = objects["object_id"].astype("str").to_numpy()
    n = len(objects)
    coords = SkyCoord(objects["ra"].to_numpy(np.float64) * u.deg, objects["dec"].to_numpy(np.float64) * u.deg)

    # matches[i] holds (catalog, source, type, class, sep) of every accepted match of object i
    matches: list[list[tuple[str, str, str, str, float]]] = [[] for _ in range(n)]
    described: list[list[str]] = [[] for _ in range(n)]
    for cat in cats:
        table = cat.table
        if n == 0 or table.empty:
            continue
        cat_coords = SkyCoord(table["ra"].to_numpy() * u.deg, table["dec"].to_numpy() * u.deg)
        index, sep, _ = match_coordinates_sky(coords, cat_coords, nthneighbor=1)
        sep_arcsec = sep.to_value(u.arcsec)
        classes = mapping.map_types(table["type"], include_uncertain=include_uncertain).to_numpy(object)
        for i in np.flatnonzero(sep_arcsec <= radius_arcsec):
            j = int(index[i])
            described[i].append(f"{cat.name}:{table['type'].iat[j]}@{sep_arcsec[i]:.2f}\"")
            cls = classes[j]
            if cls is not None and not pd.isna(cls):
                matches[i].append((cat.name, table["source"].iat[j], table["type"].iat[j], str(cls),
                                   float(sep_arcsec[i])))

    labels: list[str | None] = []
    conflict_rows = []
    for i in range(n):
        found = {m[3] for m in matches[i]}
        if len(found) == 1:
            labels.append(found.pop())
        else:
            labels.append(None)
            if len(found) > 1:
                conflict_rows += [(ids[i], *m) for m in matches[i]]
    result = pd.DataFrame({
        "object_id": pd.Series(ids, dtype="str"),
        "label": pd.Series(labels, dtype="str"),
        "n_matches": np.array([len(d) for d in described], dtype=np.int64),
        "matched": pd.Series(["; ".join(d) for d in described], dtype="str"),
        "separation_arcsec": np.array([min((m[4] for m in ms), default=np.nan) for ms in matches]),
    })
    conflicts = pd.DataFrame(
        conflict_rows, columns=["object_id", "catalog", "source", "type", "class", "separation_arcsec"]
    )
    return CrossMatchResult(result, conflicts)
