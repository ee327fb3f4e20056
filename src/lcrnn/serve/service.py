"""The model, the galaxy catalogue and the store together: what the service and ``lcrnn ingest`` share."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from lcrnn.data.context import (
    NOT_RECORDED,
    ContextConfig,
    catalogue_fingerprint,
    check_catalogue,
    galaxy_catalogue,
    objects_context,
)
from lcrnn.data.io import read_table
from lcrnn.data.sequences import band_list
from lcrnn.data.tables import MjdRange, validate_galaxies, validate_objects
from lcrnn.serve.incremental import IncrementalClassifier
from lcrnn.serve.store import IngestResult, StateStore
from lcrnn.serve.store.state import DEFAULT_POSITION_TOLERANCE_ARCSEC
from lcrnn.serve.store.validation import Rows
from lcrnn.train.run_dir import load_run, weights_sha256

__all__ = ["ClassificationService", "read_galaxies", "served_bands"]

log = logging.getLogger("lcrnn.serve")


class ClassificationService:
    """The model, the galaxy catalogue and the store together: what the service and ``lcrnn ingest`` share.

    Objects and observations are checked by the data layer's rules (:mod:`lcrnn.data.tables`), the context
    is computed by the data layer's :func:`~lcrnn.data.context.compute_context` with the model's settings
    (or taken from the objects when they carry it, as on the batch route),
    and the model is a run directory read by the one run loader, so an object classified here gets the
    probabilities ``Classifier.predict_proba`` gives it.

    Parameters
    ----------
    model
        The incremental classifier.
    store
        The state store (bound to ``model`` here; a store written by another model is refused).
    galaxies
        Galaxy table (``ra``, ``dec``; checked by :func:`lcrnn.data.tables.validate_galaxies`) or None.
    context_config
        Distance limit and dummy value, as the model was trained with.
    trained_catalogue
        The fingerprint of the catalogue the model was trained with (``TrainedModel.galaxies``): None for
        none, :data:`~lcrnn.data.context.NOT_RECORDED` when unknown, :data:`~lcrnn.data.context.CARRIED` when
        the training objects carried their context (either way a catalogue is asked for).
    allow_missing_catalogue
        Serve a context model without a catalogue (every object gets the dummy distance); refused otherwise.
    run_name
        The run's name, recorded in the store with the hash of the model's weights.
    trained_band
        The band the model was trained in (``TrainedModel.band``); None when the run does not record it.
    band
        The band(s) to read (``--band``, e.g. ``"r"`` or ``"r,R"``), when not the model's: see
        :func:`served_bands`. Observations in other bands are refused (422 in the HTTP service).
    mjd_range
        Plausible detection times; others are refused.

    Raises
    ------
    MissingCatalogueError
        A context model without ``galaxies`` and without ``allow_missing_catalogue``; the message names the
        catalogue the model was trained with and ``--galaxies FILE``.
    ModelMismatchError
        The store was filled by another model or with another catalogue.
    """

    def __init__(
        self,
        model: IncrementalClassifier,
        store: StateStore,
        galaxies: pd.DataFrame | None = None,
        context_config: ContextConfig | None = None,
        *,
        trained_catalogue: dict[str, Any] | str | None = NOT_RECORDED,
        allow_missing_catalogue: bool = False,
        run_name: str = "lcrnn",
        trained_band: str | None = None,
        band: str | None = None,
        mjd_range: MjdRange | None = None,
    ) -> None:
        self.model = model
        self.store = store
        bands, band_message = served_bands(band, trained_band)
        if band_message is not None:
            log.warning(band_message)
        store.bands = bands
        store.mjd_range = mjd_range or MjdRange()
        self.band_status = {"read": None if bands is None else list(bands), "trained": trained_band,
                            "asked": band is not None, "message": band_message}
        self.context_config = context_config or ContextConfig()
        # Build the catalogue (and its KD-tree cache) once, not per registration.
        self._catalogue = None
        checked = validate_galaxies(galaxies)[0] if galaxies is not None and len(galaxies) else None
        if checked is not None:
            self._catalogue = galaxy_catalogue(checked)
        fingerprint = catalogue_fingerprint(checked, galaxies.attrs.get("source") if checked is not None else None)
        check = check_catalogue(trained_catalogue, fingerprint, uses_context=model.uses_context,
                                allow_missing=allow_missing_catalogue)
        if check.message is not None:  # the opt-out or another catalogue than the model's: said once, at start
            log.warning(check.message)
        self.catalogue_status = {
            "status": check.status, "given": fingerprint, "trained": trained_catalogue,
            "missing_allowed": allow_missing_catalogue, "message": check.message}
        store.bind_model(model.describe(), run={"name": run_name, "weights_sha256": weights_sha256(model.network),
                                                "output": model.output}, catalogue=fingerprint)

    @classmethod
    def from_run(
        cls,
        model_dir: str | Path,
        db_url: str,
        galaxies: pd.DataFrame | None = None,
        db_prefix: str = "lcrnn_",
        position_tolerance_arcsec: float = DEFAULT_POSITION_TOLERANCE_ARCSEC,
        *,
        allow_missing_catalogue: bool = False,
        band: str | None = None,
        mjd_range: MjdRange | None = None,
        raw: bool = False,
        priors: str | None = None,
    ) -> ClassificationService:
        """Load a run directory (:func:`lcrnn.train.run_dir.load_run`) and open the store at ``db_url``.

        ``position_tolerance_arcsec``: how far a registered object may move and stay the same object (see
        :class:`~lcrnn.serve.store.StateStore`); ``band`` and ``mjd_range`` as for the class;
        ``raw`` and ``priors`` choose the probabilities (calibrated by default, see
        :func:`lcrnn.train.calibrate.probability_function`). The galaxy catalogue and the probabilities asked for are
        checked against the run's before the store is opened, so a refused one leaves no database behind.
        """
        model = load_run(model_dir)
        classifier = IncrementalClassifier.from_trained(model, raw=raw, priors=priors)  # refuses bad priors first
        check_catalogue(model.galaxies, catalogue_fingerprint(galaxies),
                        uses_context=model.network_config.use_context, allow_missing=allow_missing_catalogue)
        store = StateStore(db_url, prefix=db_prefix, position_tolerance_arcsec=position_tolerance_arcsec)
        try:
            return cls(classifier, store, galaxies, model.context_config,
                       trained_catalogue=model.galaxies, allow_missing_catalogue=allow_missing_catalogue,
                       run_name=model.name, trained_band=model.band, band=band, mjd_range=mjd_range)
        except Exception:
            store.close()
            raise

    def register(self, objects: pd.DataFrame) -> dict[str, int]:
        """Check objects, compute their context and register them (idempotent for the same position).

        Raises
        ------
        InvalidTableError
            From :func:`lcrnn.data.tables.validate_objects`, with ``invalid_rows`` naming the bad column.
        ObjectConflictError
            If an id is already registered farther than the store's ``position_tolerance_arcsec``.
        """
        checked, _ = validate_objects(objects)
        context = objects_context(checked, self._catalogue, self.context_config)  # carried, as on the batch route
        return self.store.register_objects(
            context.assign(ra=checked["ra"].to_numpy(), dec=checked["dec"].to_numpy())
        )

    def observe(self, observations: Rows, upper_limits: Rows | None = None) -> IngestResult:
        """Store observations and update the classifications (see :meth:`StateStore.add_observations`)."""
        return self.store.add_observations(observations, self.model, upper_limits=upper_limits)


def served_bands(asked: str | None, trained: str | None) -> tuple[tuple[str, ...] | None, str | None]:
    """The bands a service reads, and what to say once at start about them.

    A light curve is read in one band, as on the batch route: the model's training band by default, or the
    band(s) asked for (a model trained on one survey's band may rightly classify another's, said once).
    A run that does not record its band (saved before runs did) reads every band, with a warning.
    """
    if asked is not None:
        bands = band_list(asked)
        if trained is not None and set(bands) != set(band_list(trained)):
            return bands, (f"the model was trained on band {trained!r}; reading band {'+'.join(bands)!r} "
                           "as asked (--band).")
        return bands, None
    if trained is None:
        return None, ("the model's run does not record the band it was trained in, so observations in every "
                      "band are read as one light curve; pass --band to read one band only.")
    return band_list(trained), None


def read_galaxies(path: Path) -> pd.DataFrame:
    """The galaxy catalogue file the service was started with."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Galaxy catalogue {path} not found; pass a Parquet or CSV file with ra, dec columns."
        )
    return read_table(path, "galaxies")
