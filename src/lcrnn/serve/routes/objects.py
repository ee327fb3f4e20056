"""Objects: register one, read one, retract one or one of its detections, list them (the vetting list) and candidates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import Field

from lcrnn.errors import InvalidTableError
from lcrnn.serve.routes.bodies import (
    OBJECT_ID_PATTERN,
    Candidate,
    ObjectDetail,
    ObjectIn,
    ObjectSummary,
    Registered,
    Retracted,
    is_object_id,
)
from lcrnn.serve.routes.deps import Authorised, ServiceDep, check_class, errors, unprocessable
from lcrnn.serve.store import ObjectConflictError, UnknownObjectError, UnknownObservationError
from lcrnn.serve.store.search import Cone, ObjectQuery, SortKey

__all__ = ["router"]

router = APIRouter()


def _known_id(object_id: str) -> str:
    """404 for a path id that no registration could have made (a NUL never reaches the database)."""
    if not is_object_id(object_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"No object {object_id!r}: object ids hold no whitespace, '/', control character or leading '.'.",
        )
    return object_id


@router.post(
    "/objects",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Authorised],
    tags=["write"],
    response_model=Registered,
    responses={200: {"model": Registered, "description": "Already registered at this position."},
               **errors(400, 401, 403, 409, 413, 422)},
)
def register_object(body: ObjectIn, service: ServiceDep, response: Response) -> dict[str, Any]:
    """Register an object (201); its context comes from its position and the galaxy catalogue.

    Registering it again at the same position answers 200 and changes nothing; at another position, 409.
    """
    try:
        result = service.register(pd.DataFrame([body.model_dump()]))
    except ObjectConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except InvalidTableError as exc:
        raise unprocessable(exc, lambda _row, column: ["body", column]) from exc
    if not result["created"]:
        response.status_code = status.HTTP_200_OK
    obj = service.store.get_object(body.object_id, with_photometry=False) or {}
    return {"object_id": body.object_id, "created": bool(result["created"]), "context": obj.get("context")}


@router.get("/objects/{object_id}", response_model=ObjectDetail, tags=["read"], responses=errors(404, 422))
def get_object(object_id: str, service: ServiceDep) -> dict[str, Any]:
    """Current probabilities (keyed by class), number of detections, history, photometry and retractions."""
    obj = service.store.get_object(_known_id(object_id))
    if obj is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"No object {object_id!r}; register it with POST /objects."
        )
    return obj


# Both retractions: authorised writes answering what they took back.
_RETRACTION: dict[str, Any] = {
    "response_model": Retracted, "dependencies": [Authorised], "tags": ["write"],
    "responses": errors(401, 403, 404, 422),
}


@router.delete("/objects/{object_id}/observations/{mjd}", **_RETRACTION)
def retract_observation(
    object_id: str,
    mjd: Annotated[float, Path(allow_inf_nan=False, description="The detection's time, as stored [MJD].")],
    service: ServiceDep,
) -> dict[str, Any]:
    """Retract one detection; the object's probabilities and history are rebuilt from the others.

    The detection is kept in the object's ``retracted`` list; an alert with its ``alert_id`` sent again is
    ignored as a repeat. ``mjd`` is the time as stored (``GET /objects/{object_id}`` lists them).
    """
    try:
        done = service.store.retract_observation(_known_id(object_id), mjd, service.model)
    except (UnknownObjectError, UnknownObservationError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return vars(done)


@router.delete("/objects/{object_id}", **_RETRACTION)
def retract_object(object_id: str, service: ServiceDep) -> dict[str, Any]:
    """Retract an object: it and its classification are removed, its detections kept in the record."""
    try:
        done = service.store.retract_object(_known_id(object_id))
    except UnknownObjectError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return vars(done)


class ObjectRow(ObjectSummary):
    """One row of the object list: an object's summary, the probability the list reads and the distance."""

    prob: float | None = Field(description="Probability of prob_cls (or the leading probability without it).")
    separation_arcsec: float | None = Field(description="Angular distance from the cone's centre (with a cone).")


_ID = {"max_length": 128, "pattern": OBJECT_ID_PATTERN}
_TOTAL = {"X-Total-Count": {"description": "Objects the filters select, over all pages.",
                            "schema": {"type": "integer", "minimum": 0}}}


@router.get(
    "/objects",
    response_model=list[ObjectRow],
    tags=["read"],
    responses={200: {"description": "One page of objects, in the order asked.", "headers": _TOTAL},
               **errors(422)},
)
def list_objects(
    service: ServiceDep,
    response: Response,
    sort: Annotated[SortKey, Query(description="updated (last change), last_mjd, first_mjd, n_obs, prob (of "
                                   "prob_cls, else the leading one), distance (from the cone's centre), object_id.")
                    ] = "updated",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    cls: Annotated[str | None, Query(description="Only objects whose leading class is this.")] = None,
    prob_cls: Annotated[str | None, Query(description="The class whose probability min_prob and sort=prob "
                                          "read; default: each object's leading class.")] = None,
    min_prob: Annotated[float | None, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = None,
    min_n_obs: Annotated[int, Query(ge=0, le=2**31 - 1, description="At least this many detections.")] = 0,
    object_id: Annotated[str | None, Query(description="This id exactly.", **_ID)] = None,
    id_prefix: Annotated[str | None, Query(description="Ids starting with this (case-sensitive).", **_ID)] = None,
    ra: Annotated[float | None, Query(ge=0.0, lt=360.0, allow_inf_nan=False,
                                      description="Cone centre, right ascension [deg] (with dec and radius).")] = None,
    dec: Annotated[float | None, Query(ge=-90.0, le=90.0, allow_inf_nan=False,
                                       description="Cone centre, declination [deg].")] = None,
    radius: Annotated[float | None, Query(gt=0.0, le=648000.0, allow_inf_nan=False,
                                          description="Cone radius [arcsec].")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """The object list an observer vets: filtered, searched by id or cone, sorted, one page at a time.

    Without parameters: the most recently updated objects first. Objects with no value of the sort key (no
    detection yet) come last in either order. ``X-Total-Count`` says how many objects the filters select.
    """
    for name, value in (("cls", cls), ("prob_cls", prob_cls)):
        if value is not None and value not in service.model.classes:
            raise _bad_query(name, f"unknown class {value!r}; the model's classes are {list(service.model.classes)}")
    cone = _cone(ra, dec, radius)
    if sort == "distance" and cone is None:
        raise _bad_query("sort", "sort=distance needs a cone: give ra, dec and radius")
    query = ObjectQuery(sort=sort, descending=order == "desc", cls=cls, prob_cls=prob_cls, min_prob=min_prob,
                        min_n_obs=min_n_obs, object_id=object_id, id_prefix=id_prefix, cone=cone, limit=limit,
                        offset=offset)
    rows, total = service.store.search_objects(query)
    response.headers["X-Total-Count"] = str(total)
    return rows


def _cone(ra: float | None, dec: float | None, radius: float | None) -> Cone | None:
    """The cone the three parameters give, None for none of them, 422 naming those missing for some."""
    given = {"ra": ra, "dec": dec, "radius": radius}
    if all(v is None for v in given.values()):
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise _bad_query(missing[0], f"a cone search needs ra, dec and radius; {', '.join(missing)} missing")
    return Cone(ra=float(ra), dec=float(dec), radius_arcsec=float(radius))  # type: ignore[arg-type]


def _bad_query(name: str, message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         [{"loc": ["query", name], "msg": message, "type": "value_error"}])


@router.get("/candidates", response_model=list[Candidate], tags=["read"], responses=errors(422))
def candidates(
    service: ServiceDep,
    cls: Annotated[str, Query(description="Class name, e.g. SN.")],
    min_prob: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> list[dict[str, Any]]:
    """Follow-up candidates: probability of ``cls`` at least ``min_prob``, newest detection first."""
    check_class(cls, service)
    return service.store.candidates(cls, min_prob=min_prob, limit=limit)
