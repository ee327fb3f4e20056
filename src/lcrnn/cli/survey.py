"""Sub-commands that make and inspect survey tables: import, label, simulate, describe."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from lcrnn.cli._common import ON_INVALID_HELP, OnInvalid, _option_errors, app, read_survey_checked


class Source(str, Enum):
    """What `lcrnn import` reads."""

    MANTRA = "mantra"
    OSC = "osc"
    GWGC = "gwgc"


@app.command("import")
def import_data(
    source: Annotated[Source, typer.Argument(help="Which data: mantra, osc or gwgc.", case_sensitive=False)],
    src: Annotated[Path, typer.Argument(help="The data folder (or gwgc_good.csv).")],
    out: Annotated[Path, typer.Option(help="Survey directory to write (Parquet tables).")],
    exclude_uncertain: Annotated[bool, typer.Option(
        "--exclude-uncertain", help="Leave out objects with uncertain labels (SN?, Blazar?).")] = False,
    mapping: Annotated[Path | None, typer.Option(help="Label mapping file (default: the packaged one).")] = None,
    galaxies: Annotated[Path | None, typer.Option(help="GWGC catalogue (file or folder) to carry along.")] = None,
    bands: Annotated[str | None, typer.Option(
        help="OSC: comma-separated bands to keep, or 'all' (default: the group near GOTO L).")] = None,
    min_detections: Annotated[int, typer.Option(help="OSC: fewest detections an event needs.")] = 3,
    resample: Annotated[bool, typer.Option(
        "--resample", help="Write GOTO-like light curves (lcrnn.data.resample, default settings).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the resampling.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace tables already in OUT.")] = False,
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.DROP,
) -> None:
    """Read real survey data (MANTRA, the Open Supernova Catalog, GWGC) into lcrnn's tables."""
    import warnings

    from lcrnn.data.io import write_parquet, write_survey
    from lcrnn.data.labels import load_label_map
    from lcrnn.data.real import L_LIKE_BANDS, read_gwgc, read_mantra, read_osc
    from lcrnn.data.tables import validate_survey
    from lcrnn.errors import LcrnnWarning

    kind, lenient = source.value, on_invalid.value
    if kind == "gwgc":
        target = out / "galaxies.parquet"
        if target.exists() and not overwrite:
            raise typer.BadParameter(f"{target} exists; pass --overwrite to replace it", param_hint="--out")
        table = read_gwgc(src, on_invalid=lenient)
        out.mkdir(parents=True, exist_ok=True)
        write_parquet(table, target)
        typer.echo(f"wrote {len(table)} galaxies to {target}")
        return
    label_map = load_label_map(mapping)
    with warnings.catch_warnings(record=True) as dropped:  # the readers warn what they dropped: said below
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", LcrnnWarning)
        gals = read_gwgc(galaxies, on_invalid=lenient) if galaxies is not None else None
        if kind == "mantra":
            survey = read_mantra(src, include_uncertain=not exclude_uncertain, mapping=label_map, galaxies=gals,
                                 on_invalid=lenient)
        else:
            chosen = L_LIKE_BANDS if bands is None else None if bands == "all" else tuple(bands.split(","))
            survey = read_osc(src, bands=chosen, min_detections=min_detections, on_invalid=lenient,
                              include_uncertain=not exclude_uncertain, mapping=label_map, galaxies=gals)
        if resample:
            from lcrnn.data.resample import resample_photometry

            photometry = resample_photometry(survey.photometry, survey.objects, seed=seed)
            objects = survey.objects[survey.objects["object_id"].isin(photometry["object_id"])]
            survey, _ = validate_survey(photometry, objects, survey.galaxies, classes=label_map.classes,
                                        on_invalid=lenient)
    for warning in dropped:
        typer.echo(f"{src}: {warning.message}", err=True)
    write_survey(survey, out, overwrite=overwrite)
    counts = ", ".join(f"{k} {v}" for k, v in survey.class_counts().items())
    typer.echo(f"wrote {survey.n_objects} objects ({counts}) and {len(survey.photometry)} observations to {out}")


@app.command()
def label(
    objects: Annotated[Path, typer.Option(help="Objects table (object_id, ra, dec), Parquet or CSV.")],
    catalog: Annotated[list[Path], typer.Option(
        help="Catalogue of known sources with RA, Dec and a type column (repeat for several).")],
    out: Annotated[Path, typer.Option(help="Labelled objects to write (.csv or .parquet); conflicts go next to it.")],
    radius: Annotated[float, typer.Option(help="Match radius in arcsec.")] = 2.0,
    mapping: Annotated[Path | None, typer.Option(help="Type-to-class mapping file (default: VS/SN/AGN).")] = None,
    exclude_uncertain: Annotated[bool, typer.Option(
        "--exclude-uncertain", help="Do not count uncertain catalogue types (SN?, EA:).")] = False,
    ra_column: Annotated[str | None, typer.Option(help="RA column of the catalogues (default: auto).")] = None,
    dec_column: Annotated[str | None, typer.Option(help="Dec column of the catalogues (default: auto).")] = None,
    type_column: Annotated[str | None, typer.Option(help="Type column of the catalogues (default: auto).")] = None,
) -> None:
    """Label objects by cross-match with catalogues of known sources (paper section 2.2).

    Objects whose catalogues name different classes stay unlabelled and are listed in OUT's
    `<stem>.conflicts.csv`.
    """
    from lcrnn.data.formats import TABLE_FORMATS, file_format, write_table
    from lcrnn.data.io import read_table
    from lcrnn.data.labels import cross_match_labels, load_label_map, read_catalog

    with _option_errors():  # before the cross-match, which may be slow
        file_format(out, TABLE_FORMATS)
    table = read_table(objects, kind="objects")
    catalogs = [read_catalog(path, ra_column=ra_column, dec_column=dec_column, type_column=type_column)
                for path in catalog]
    result = cross_match_labels(table, catalogs, radius_arcsec=radius, mapping=load_label_map(mapping),
                                include_uncertain=not exclude_uncertain)
    labelled = table.drop(columns=["label"], errors="ignore").merge(
        result.labels[["object_id", "label"]], on="object_id", how="left")
    write_table(labelled, out)
    conflicts_path = out.with_name(out.name.split(".")[0] + ".conflicts.csv")
    result.conflicts.to_csv(conflicts_path, index=False)
    counts = ", ".join(f"{k} {v}" for k, v in result.class_counts().items()) or "none"
    typer.echo(f"labelled {int(labelled['label'].notna().sum())} of {len(labelled)} objects ({counts}); "
               f"{result.n_conflicts} conflicts written to {conflicts_path}; labels written to {out}")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Directory to write photometry, objects and galaxies Parquet files.")],
    n_objects: Annotated[int, typer.Option(help="Labelled objects (paper: 99,201 = 98,457 VS, 201 SN, 543 AGN).")]
    = 99_201,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same survey.")] = 0,
    galaxy_catalog: Annotated[str, typer.Option(
        help="Catalogue the context is computed against: glade (the paper's), gwgc (shallow, to 100 Mpc), or "
             "both, glade,gwgc (each object's patch of sky covered by one of them at random).")]
    = "glade",
    population: Annotated[str, typer.Option(
        help="Source subtype mix: survey (VSX/Veron-like) or transient (labels found by brightening: dwarf "
             "novae, flare stars, blazars).")] = "survey",
    min_abs_b: Annotated[float, typer.Option(
        help="Survey footprint: no fields within this many degrees of the Galactic plane (CRTS: ~15).")] = 0.0,
    class_fractions: Annotated[str | None, typer.Option(
        help="Share of each class, e.g. VS=0.6,SN=0.2,AGN=0.2 to train on many rare objects (default: the "
             "paper's, 99.25 % VS).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace survey tables already in OUT.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = False,
) -> None:
    """Simulate a GOTO-like labelled survey (paper section 2) and write it as Parquet."""
    import time

    from lcrnn.data.io import write_survey
    from lcrnn.data.simulate import CLASSES, SOURCE_POPULATIONS, SimulationConfig, simulate_survey
    from lcrnn.model.calibration import parse_priors

    if n_objects < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--n-objects")
    if population not in SOURCE_POPULATIONS:
        raise typer.BadParameter(f"choose one of {', '.join(SOURCE_POPULATIONS)}", param_hint="--population")
    with _option_errors():
        shares = {} if class_fractions is None else {"class_fractions": dict(zip(
            CLASSES, parse_priors(class_fractions, CLASSES, what="--class-fractions"), strict=True))}
        config = SimulationConfig(n_objects=n_objects, seed=seed, galaxy_catalog=galaxy_catalog,
                                  min_abs_b_deg=min_abs_b, **shares, **SOURCE_POPULATIONS[population])
    start = time.perf_counter()
    survey = simulate_survey(config, progress=progress)
    write_survey(survey, out, overwrite=overwrite)
    counts = ", ".join(f"{k} {v}" for k, v in survey.objects["label"].value_counts().items())
    typer.echo(f"simulated {survey.n_objects} objects ({counts}), {len(survey.photometry)} points, "
               f"{len(survey.galaxies)} galaxies in {time.perf_counter() - start:.1f} s; written to {out}")


@app.command()
def describe(
    data: Annotated[Path, typer.Option(help="Survey directory: photometry, objects (label optional), galaxies.")],
    out: Annotated[Path, typer.Option(help="Directory for summary.json and the paper's Figs 1-3 as PNG.")],
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.RAISE,
) -> None:
    """Per-class statistics of a survey (paper section 2.2) and its Figs 1-3."""
    from lcrnn.workflows.reproduce import describe_to_directory

    summary, figures = describe_to_directory(read_survey_checked(data, on_invalid), out)
    typer.echo(summary)
    typer.echo(f"statistics written to {Path(out) / 'summary.json'}; figures: {', '.join(p.name for p in figures)}")


# --- serve / ingest: real-time classification (issue 6) ----------------------------------------------
