"""The HTTP service: register objects, post observations, read classifications, list follow-up candidates.

``lcrnn serve --model RUN --db URL`` runs :func:`create_app` under uvicorn. The model is loaded in the
``lifespan`` handler (not at import), the state lives in a :class:`~lcrnn.serve.store.StateStore`, and the same
process serves a small web page at ``/ui/`` that lists recent objects and draws an object's light curve and
class probabilities over time.

Routes (clients rely on them):

* ``POST /objects`` -- ``{object_id, ra, dec}``; the context (l, b, nearest-galaxy distance) is computed here.
* ``POST /observations`` -- a list of ``{object_id, mjd, mag, mag_err, band?, alert_id?}``.
* ``GET /objects/{object_id}`` -- ``probabilities`` keyed by class, ``n_obs``, ``history`` and the photometry.
* ``GET /candidates?cls=SN&min_prob=0.7`` -- objects at or above the threshold, newest detection first.
* ``GET /healthz`` -- liveness and database counts.

Writes need ``Authorization: Bearer <token>`` with the token from the ``LCRNN_API_TOKEN`` environment variable;
request bodies larger than ``max_body_bytes`` are refused with 413.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from lcrnn.data.context import ContextConfig, compute_context, galaxy_catalogue
from lcrnn.errors import InvalidTableError
from lcrnn.serve.incremental import IncrementalClassifier, ModelMismatchError
from lcrnn.train.run_dir import load_run
from lcrnn.version import __version__
from lcrnn.serve.store import ObjectConflictError, StateStore, UnknownObjectError

__all__ = ["WEB_DIR", "ClassificationService", "ServeConfig", "create_app"]

WEB_DIR = Path(__file__).with_name("web")


@dataclass(frozen=True)
class ServeConfig:
    """How the service runs.

    Parameters
    ----------
    model_dir
        A run directory written by ``Classifier.save`` (ignored when a model is passed to :func:`create_app`).
    db_url
        State store URL: ``sqlite:///lcrnn.db`` or ``postgresql+psycopg://user@host/db``.
    galaxies_path
        Galaxy catalogue (Parquet/CSV with ``ra``, ``dec``) for the nearest-galaxy distance; without it the
        distance is the dummy value for every object, as for a model trained without a catalogue.
    max_body_bytes
        Larger request bodies get 413 (protects the service from a runaway client).
    max_batch
        Most observations accepted in one ``POST /observations``.
    token_env
        Environment variable holding the bearer token that writes need.
    db_prefix
        Table-name prefix inside the database.
    """

    model_dir: Path | None = None
    db_url: str = "sqlite:///lcrnn.db"
    galaxies_path: Path | None = None
    max_body_bytes: int = 4_000_000  # ~20k observations of JSON
    max_batch: int = 10_000
    token_env: str = "LCRNN_API_TOKEN"
    db_prefix: str = "lcrnn_"


class ClassificationService:
    """The model, the galaxy catalogue and the store together: what the service and ``lcrnn ingest`` share.

    Parameters
    ----------
    model
        The incremental classifier.
    store
        The state store (bound to ``model`` here; a store written by another model is refused).
    galaxies
        Galaxy table (``ra``, ``dec``) or None.
    context_config
        Distance limit and dummy value, as the model was trained with.
    """

    def __init__(
        self,
        model: IncrementalClassifier,
        store: StateStore,
        galaxies: pd.DataFrame | None = None,
        context_config: ContextConfig | None = None,
    ) -> None:
        self.model = model
        self.store = store
        self.context_config = context_config or ContextConfig()
        # Build the catalogue (and its KD-tree cache) once, not per registration.
        self._catalogue = galaxy_catalogue(galaxies) if galaxies is not None and len(galaxies) else None
        store.bind_model(model.describe())

    @classmethod
    def from_run(
        cls,
        model_dir: str | Path,
        db_url: str,
        galaxies: pd.DataFrame | None = None,
        db_prefix: str = "lcrnn_",
    ) -> ClassificationService:
        """Load a run directory (:func:`lcrnn.train.run_dir.load_run`) and open the store at ``db_url``."""
        model = load_run(model_dir)
        return cls(IncrementalClassifier.from_trained(model), StateStore(db_url, prefix=db_prefix), galaxies,
                   model.context_config)

    def register(self, objects: pd.DataFrame) -> dict[str, int]:
        """Compute each object's context and register it (idempotent for the same position)."""
        context = compute_context(objects, self._catalogue, self.context_config)
        return self.store.register_objects(
            context.assign(ra=objects["ra"].to_numpy(), dec=objects["dec"].to_numpy())
        )

    def observe(self, observations: Any, upper_limits: Any = None):
        """Store observations and update the classifications (see :meth:`StateStore.add_observations`)."""
        return self.store.add_observations(observations, self.model, upper_limits=upper_limits)


# --- request and response bodies -----------------------------------------------------------------------


class ObjectIn(BaseModel):
    """A new object: id and ICRS position in degrees."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\s/]+$")
    ra: float = Field(ge=0.0, lt=360.0, allow_inf_nan=False)
    dec: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)


class ObservationIn(BaseModel):
    """One detection. ``alert_id`` (e.g. a ZTF candid) makes re-sent alerts recognisable."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(min_length=1, max_length=128)
    mjd: float = Field(gt=0.0, allow_inf_nan=False)
    mag: float = Field(gt=-50.0, lt=50.0, allow_inf_nan=False)
    mag_err: float = Field(gt=0.0, lt=10.0, allow_inf_nan=False)
    band: str = Field(default="L", min_length=1, max_length=16)
    alert_id: str | None = Field(default=None, max_length=64)

    @field_validator("alert_id", mode="before")
    @classmethod
    def _alert_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ObservationsResult(BaseModel):
    accepted: int
    duplicates: int
    rebuilt: int
    objects: dict[str, dict[str, Any]]


class ObjectSummary(BaseModel):
    object_id: str
    ra: float
    dec: float
    context: dict[str, float | None]
    n_obs: int
    first_mjd: float | None
    last_mjd: float | None
    probabilities: dict[str, float]
    leading_class: str | None
    leading_prob: float | None
    updated_at: float


class HistoryEntry(BaseModel):
    step: int
    mjd: float
    probabilities: dict[str, float]


class ObjectDetail(ObjectSummary):
    history: list[HistoryEntry]
    observations: list[dict[str, Any]]
    upper_limits: list[dict[str, Any]]


class Candidate(ObjectSummary):
    prob: float


# --- request-size limit --------------------------------------------------------------------------------


def _replay(messages: list[dict], receive: Any) -> Any:
    """An ASGI receive callable that hands out buffered messages, then defers to the real one (disconnects)."""
    queue = list(messages)

    async def replay() -> dict:
        return queue.pop(0) if queue else await receive()

    return replay


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over ``max_bytes``, by Content-Length or by counting a streamed body.

    A body larger than its Content-Length is cut there by the HTTP server, so a declared length is enough.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        if length is not None or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)  # the server stops reading at Content-Length
            return
        # A streamed body of unknown length: read it (at most max_bytes) before the app sees it, then replay.
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _reject(self, scope: dict, receive: Any, send: Any) -> None:
        response = JSONResponse(
            {
                "detail": f"Request body larger than {self.max_bytes} bytes; send fewer observations per request."
            },
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        )
        await response(scope, receive, send)


# --- dependencies --------------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False, description="The token in the server's LCRNN_API_TOKEN environment variable."
)


def service_of(request: Request) -> ClassificationService:
    """The service opened by the app's lifespan."""
    return request.app.state.service


ServiceDep = Annotated[ClassificationService, Depends(service_of)]


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """401 without a bearer token, 403 with a wrong one or when the server has none configured."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Writes need an 'Authorization: Bearer <token>' header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = request.app.state.token
    if expected is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Writes are disabled: start the server with the {request.app.state.token_env} environment variable set.",
        )
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The bearer token is not valid for this server.")


# --- the application -----------------------------------------------------------------------------------


def create_app(
    config: ServeConfig,
    *,
    model: IncrementalClassifier | None = None,
    galaxies: pd.DataFrame | None = None,
    context_config: ContextConfig | None = None,
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

    Returns
    -------
    fastapi.FastAPI
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gal = galaxies
        if gal is None and config.galaxies_path is not None:
            gal = _read_galaxies(Path(config.galaxies_path))
        if model is not None:
            service = ClassificationService(
                model, StateStore(config.db_url, prefix=config.db_prefix), gal, context_config
            )
        else:
            if config.model_dir is None:
                raise ValueError("ServeConfig.model_dir is required when no model is passed to create_app.")
            service = ClassificationService.from_run(config.model_dir, config.db_url, gal, config.db_prefix)
        app.state.service = service
        app.state.token = os.environ.get(config.token_env) or None
        app.state.token_env = config.token_env
        try:
            yield
        finally:
            service.store.close()

    app = FastAPI(
        title="lcrnn real-time classifier",
        description="Class probabilities of light curves, updated with every observation (Burhanudin et al. 2021).",
        version=_version(),
        lifespan=lifespan,
    )
    Authorised = Depends(require_token)

    @app.post("/objects", status_code=status.HTTP_201_CREATED, dependencies=[Authorised], tags=["write"])
    def register_object(body: ObjectIn, service: ServiceDep, response: Response) -> dict[str, Any]:
        """Register an object (201); its context comes from its position and the galaxy catalogue.

        Registering it again at the same position answers 200 and changes nothing; at another position, 409.
        """
        try:
            result = service.register(pd.DataFrame([body.model_dump()]))
        except ObjectConflictError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        if not result["created"]:
            response.status_code = status.HTTP_200_OK
        obj = service.store.get_object(body.object_id, with_photometry=False) or {}
        return {
            "object_id": body.object_id,
            "created": bool(result["created"]),
            "context": obj.get("context"),
        }

    @app.post("/observations", response_model=ObservationsResult, dependencies=[Authorised], tags=["write"])
    def post_observations(body: list[ObservationIn], service: ServiceDep) -> dict[str, Any]:
        """Store a batch of detections and return the updated probabilities of their objects."""
        if len(body) > config.max_batch:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{len(body)} observations in one request; send at most {config.max_batch}.",
            )
        try:
            result = service.observe(pd.DataFrame([o.model_dump() for o in body]))
        except UnknownObjectError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except (InvalidTableError, ModelMismatchError) as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rebuilt": result.rebuilt,
            "objects": result.objects,
        }

    @app.get("/objects/{object_id}", response_model=ObjectDetail, tags=["read"])
    def get_object(object_id: str, service: ServiceDep) -> dict[str, Any]:
        """Current probabilities (keyed by class), number of detections, history and photometry of one object."""
        obj = service.store.get_object(object_id)
        if obj is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"No object {object_id!r}; register it with POST /objects."
            )
        return obj

    @app.get("/objects", response_model=list[ObjectSummary], tags=["read"])
    def list_objects(
        service: ServiceDep,
        cls: Annotated[str | None, Query(description="Only objects whose leading class is this.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[dict[str, Any]]:
        """The most recently updated objects, newest first (the web page's table)."""
        if cls is not None:
            _check_class(cls, service)
        return service.store.list_objects(cls=cls, limit=limit)

    @app.get("/candidates", response_model=list[Candidate], tags=["read"])
    def candidates(
        service: ServiceDep,
        cls: Annotated[str, Query(description="Class name, e.g. SN.")],
        min_prob: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
        limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    ) -> list[dict[str, Any]]:
        """Follow-up candidates: probability of ``cls`` at least ``min_prob``, newest detection first."""
        _check_class(cls, service)
        return service.store.candidates(cls, min_prob=min_prob, limit=limit)

    @app.get("/classes", tags=["read"])
    def classes(service: ServiceDep) -> list[str]:
        """The model's class names, in output order."""
        return list(service.model.classes)

    @app.get("/healthz", tags=["read"])
    def healthz(service: ServiceDep) -> dict[str, Any]:
        """Liveness: the model is loaded and the database answers."""
        try:
            counts = service.store.counts()
        except SQLAlchemyError as exc:  # any database failure makes the service unhealthy
            return JSONResponse({"status": "error", "detail": f"database: {exc}"}, status_code=503)
        return {
            "status": "ok",
            "classes": list(service.model.classes),
            "max_len": service.model.max_len,
            **counts,
        }

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    return app


def _check_class(cls: str, service: ClassificationService) -> None:
    if cls not in service.model.classes:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["query", "cls"],
                    "msg": f"unknown class {cls!r}; the model's classes are {list(service.model.classes)}",
                    "type": "value_error",
                }
            ],
        )


def _read_galaxies(path: Path) -> pd.DataFrame:
    from lcrnn.data.io import read_table

    if not path.is_file():
        raise FileNotFoundError(
            f"Galaxy catalogue {path} not found; pass a Parquet or CSV file with ra, dec columns."
        )
    return read_table(path, "galaxies")


def _version() -> str:
    return __version__
