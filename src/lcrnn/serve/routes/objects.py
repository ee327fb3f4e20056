"""Objects: register one, read one, retract one or one of its detections; follow-up candidates (lists: listing.py)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from lcrnn.errors import InvalidTableError
from lcrnn.serve.routes.bodies import (
    Candidate,
    ObjectDetail,
    ObjectIn,
    Registered,
    Retracted,
    is_object_id,
)
from lcrnn.serve.routes import listing
from lcrnn.serve.routes.deps import Authorised, ServiceDep, check_class, errors, unprocessable
from lcrnn.serve.store import ObjectConflictError, UnknownObjectError, UnknownObservationError

__all__ = ["router"]

router = APIRouter()
router.include_router(listing.router)  # GET /objects (the vetting list) and GET /conesearch


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
