"""The HTTP service: register objects, post observations, read classifications, list follow-up candidates.

``lcrnn serve --model RUN --db URL`` runs :func:`create_app` under uvicorn. The model is loaded in the
``lifespan`` handler (not at import) through the one run loader, the state lives in a
:class:`~lcrnn.serve.store.StateStore`, and the same process serves a web page at ``/ui/`` for vetting: the
object list (sorted, filtered, searched by id or cone) and each object's light curve, probabilities against MJD
and links to the archives at its position.

Routes (clients rely on them; each lives in a router of :mod:`lcrnn.serve.routes`):

* ``POST /objects`` -- ``{object_id, ra, dec}``; the context (l, b, nearest-galaxy distance) is computed here.
* ``POST /observations`` -- a list of ``{object_id, mjd, mag, mag_err, band?, alert_id?}``.
* ``GET /objects/{object_id}`` -- ``probabilities`` keyed by class, ``n_obs``, ``history`` and the photometry.
* ``DELETE /objects/{object_id}/observations/{mjd}`` -- retract a detection; the object is rebuilt from the rest.
* ``DELETE /objects/{object_id}`` -- retract an object (its detections stay in the record of retractions).
* ``GET /objects?sort=prob&prob_cls=SN&min_prob=0.7`` -- the vetting list: sorted, filtered, searched by id,
  one page at a time; ``GET /conesearch?ra=..&dec=..&radius=..`` the same within a cone (arcsec).
* ``GET /candidates?cls=SN&min_prob=0.7`` -- objects at or above the threshold, newest detection first.
* ``GET /healthz`` -- liveness and database counts.

Objects and observations are checked by the data layer's rules (:mod:`lcrnn.data.tables`), as on the batch
route; a refused one gets a 422 that names the field, and so does a body with ``NaN``, ``Infinity``, a
boolean for a number or a control character in text (the 422 never echoes what JSON cannot hold). Writes need ``Authorization: Bearer <token>`` with the
token from the ``LCRNN_API_TOKEN`` environment variable; request bodies larger than ``max_body_bytes`` are
refused with 413.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pandas as pd
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from lcrnn.data.context import ContextConfig
from lcrnn.serve.config import ServeConfig
from lcrnn.serve.incremental import IncrementalClassifier
from lcrnn.serve.limits import BodySizeLimit
from lcrnn.serve.routes import objects, observations
from lcrnn.serve.routes import status as status_routes
from lcrnn.serve.routes.deps import validation_error
from lcrnn.serve.service import ClassificationService, read_galaxies
from lcrnn.serve.store import StateStore
from lcrnn.version import __version__

__all__ = ["WEB_DIR", "ClassificationService", "ServeConfig", "create_app", "open_service"]

WEB_DIR = Path(__file__).with_name("web")


def create_app(
    config: ServeConfig,
    *,
    model: IncrementalClassifier | None = None,
    galaxies: pd.DataFrame | None = None,
    context_config: ContextConfig | None = None,
    service: ClassificationService | None = None,
) -> FastAPI:
    """Build the FastAPI application; the model and store open when it starts (its lifespan).

    Parameters
    ----------
    config
        Model run, database URL, limits.
    model
        An already-built incremental classifier (tests, benchmarks); otherwise ``config.model_dir`` is loaded.
    galaxies
        A galaxy table to use instead of ``config.galaxies_path``.
    context_config
        Context settings when ``model`` is given (a loaded run brings its own).
    service
        A service already opened with :func:`open_service` (``lcrnn serve`` opens it before uvicorn starts,
        so that a refused model, catalogue or store is a command-line error, not a failed startup).

    Returns
    -------
    fastapi.FastAPI
    """
    app = FastAPI(
        title="lcrnn real-time classifier",
        description="Class probabilities of light curves, updated with every observation (Burhanudin et al. 2021).",
        version=__version__,
        lifespan=_lifespan(lambda: service or open_service(config, model, galaxies, context_config), config.token_env),
    )
    app.state.config = config
    for routes in (objects, observations, status_routes):
        app.include_router(routes.router)
    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_error)  # 422s that never echo NaN
    app.openapi = _schema_with_classes(app, app.openapi)
    return app


def _schema_with_classes(app: FastAPI, build: Callable[[], dict]) -> Callable[[], dict]:
    """The OpenAPI schema, whose ``cls`` and ``prob_cls`` query parameters list the loaded model's classes."""

    def openapi() -> dict:
        service = getattr(app.state, "service", None)
        if service is None or app.openapi_schema is not None:
            return app.openapi_schema or build()
        schema = build()
        for operations in schema["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["name"] in ("cls", "prob_cls") and parameter["in"] == "query":
                        parameter["schema"] = {"type": "string", "enum": list(service.model.classes),
                                               "title": "Cls"}
        _bands_in_schema(schema, service.store.bands)
        return schema

    return openapi


def _bands_in_schema(schema: dict, bands: tuple[str, ...] | None) -> None:
    """An observation's ``band`` is one of the bands the service reads (a light curve is read in one band);
    without the default band among them, ``band`` is required."""
    observation = schema.get("components", {}).get("schemas", {}).get("ObservationIn")
    if bands is None or observation is None:
        return
    band = observation["properties"]["band"]
    band.pop("pattern", None)
    band.update({"enum": list(bands)})
    if band.get("default") not in bands:
        band.pop("default", None)
        observation["required"] = sorted({*observation.get("required", []), "band"})


def _lifespan(
    open_service: Callable[[], ClassificationService], token_env: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the service (model, catalogue, store) when the app starts and close the store when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = open_service()
        app.state.service = service
        app.state.token = os.environ.get(token_env) or None
        app.state.token_env = token_env
        try:
            yield
        finally:
            service.store.close()

    return lifespan


def open_service(
    config: ServeConfig,
    model: IncrementalClassifier | None = None,
    galaxies: pd.DataFrame | None = None,
    context_config: ContextConfig | None = None,
) -> ClassificationService:
    """The model, catalogue and store that ``config`` (or the given model and galaxies) name, checked."""
    if galaxies is None and config.galaxies_path is not None:
        galaxies = read_galaxies(Path(config.galaxies_path))
    if model is not None:
        store = StateStore(config.db_url, prefix=config.db_prefix)
        return ClassificationService(model, store, galaxies, context_config,
                                     allow_missing_catalogue=config.allow_missing_catalogue, band=config.band,
                                     mjd_range=config.mjd_range)
    if config.model_dir is None:
        raise ValueError("ServeConfig.model_dir is required when no model is passed to create_app.")
    return ClassificationService.from_run(config.model_dir, config.db_url, galaxies, config.db_prefix,
                                          allow_missing_catalogue=config.allow_missing_catalogue,
                                          band=config.band, mjd_range=config.mjd_range, raw=config.raw,
                                          priors=config.priors)
