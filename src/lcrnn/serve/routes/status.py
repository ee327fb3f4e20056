"""What the service is: liveness and database counts, the model's classes, and the front page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from lcrnn.serve.routes.deps import ServiceDep

__all__ = ["router"]

router = APIRouter()


@router.get("/classes", tags=["read"])
def classes(service: ServiceDep) -> list[str]:
    """The model's class names, in output order."""
    return list(service.model.classes)


@router.get("/healthz", tags=["read"])
def healthz(service: ServiceDep) -> dict[str, Any]:
    """Liveness: the model is loaded and the database answers; ``catalogue`` says which galaxy catalogue the
    context is computed with, the model's, and whether the service runs without one by choice; ``band`` the
    band(s) read (null: every band) and the model's training band."""
    try:
        counts = service.store.counts()
    except SQLAlchemyError as exc:  # any database failure makes the service unhealthy
        return JSONResponse({"status": "error", "detail": f"database: {exc}"}, status_code=503)
    model = service.model
    return {"status": "ok", "classes": list(model.classes), "max_len": model.max_len,
            "catalogue": service.catalogue_status, "band": service.band_status,
            "probabilities": model.output, **counts}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")
