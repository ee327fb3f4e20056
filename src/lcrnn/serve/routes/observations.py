"""Observations: post a batch of detections, get the updated probabilities of their objects."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, status

from lcrnn.errors import InvalidTableError
from lcrnn.serve.incremental import ModelMismatchError
from lcrnn.serve.routes.bodies import ObservationIn, ObservationsResult
from lcrnn.serve.routes.deps import Authorised, ConfigDep, ServiceDep, errors, unprocessable
from lcrnn.serve.store import UnknownObjectError

__all__ = ["router"]

router = APIRouter(tags=["write"], dependencies=[Authorised])


@router.post("/observations", response_model=ObservationsResult, responses=errors(400, 401, 403, 404, 413, 422))
def post_observations(body: list[ObservationIn], service: ServiceDep, config: ConfigDep) -> dict[str, Any]:
    """Store a batch of detections and return the updated probabilities of their objects.

    The detections are checked by the data layer's rules (a 422 names the field of the first bad row and
    every bad object); repeats (same object and time, or same ``alert_id``) are counted and ignored.
    """
    if len(body) > config.max_batch:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body)} observations in one request; send at most {config.max_batch}.",
        )
    try:
        result = service.observe(pd.DataFrame([o.model_dump() for o in body]))
    except UnknownObjectError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except InvalidTableError as exc:
        raise unprocessable(exc, lambda row, column: ["body", row, column]) from exc
    except ModelMismatchError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rebuilt": result.rebuilt,
        "objects": result.objects,
    }
