"""Objects: register one, read one, list the recent ones, list follow-up candidates."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Response, status

from lcrnn.errors import InvalidTableError
from lcrnn.serve.routes.bodies import Candidate, ObjectDetail, ObjectIn, ObjectSummary
from lcrnn.serve.routes.deps import Authorised, ServiceDep, check_class, unprocessable
from lcrnn.serve.store import ObjectConflictError

__all__ = ["router"]

router = APIRouter()


@router.post("/objects", status_code=status.HTTP_201_CREATED, dependencies=[Authorised], tags=["write"])
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


@router.get("/objects/{object_id}", response_model=ObjectDetail, tags=["read"])
def get_object(object_id: str, service: ServiceDep) -> dict[str, Any]:
    """Current probabilities (keyed by class), number of detections, history and photometry of one object."""
    obj = service.store.get_object(object_id)
    if obj is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"No object {object_id!r}; register it with POST /objects."
        )
    return obj


@router.get("/objects", response_model=list[ObjectSummary], tags=["read"])
def list_objects(
    service: ServiceDep,
    cls: Annotated[str | None, Query(description="Only objects whose leading class is this.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """The most recently updated objects, newest first (the web page's table)."""
    if cls is not None:
        check_class(cls, service)
    return service.store.list_objects(cls=cls, limit=limit)


@router.get("/candidates", response_model=list[Candidate], tags=["read"])
def candidates(
    service: ServiceDep,
    cls: Annotated[str, Query(description="Class name, e.g. SN.")],
    min_prob: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> list[dict[str, Any]]:
    """Follow-up candidates: probability of ``cls`` at least ``min_prob``, newest detection first."""
    check_class(cls, service)
    return service.store.candidates(cls, min_prob=min_prob, limit=limit)
