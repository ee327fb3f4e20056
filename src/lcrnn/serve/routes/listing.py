"""The vetting list: ``GET /objects`` (filtered, searched by id, sorted, paged) and ``GET /conesearch``.

A cone search is its own route, with ``ra``, ``dec`` and ``radius`` required, so that every request the schema
allows means something (no half-given cone); both routes share the other parameters. ``X-Total-Count`` tells
a client how many objects the filters select over all pages.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import Field

from lcrnn.serve.routes.bodies import OBJECT_ID_PATTERN, ObjectSummary
from lcrnn.serve.routes.deps import ServiceDep, errors
from lcrnn.serve.service import ClassificationService
from lcrnn.serve.store.search import Cone, ObjectQuery

__all__ = ["ObjectRow", "router"]

router = APIRouter()

ListSort = Literal["updated", "last_mjd", "first_mjd", "n_obs", "prob", "object_id"]
_SORT_HELP = ("updated (last change), last_mjd, first_mjd (detections), n_obs, prob (of prob_cls, else the "
              "leading class), object_id")
_ID = {"max_length": 128, "pattern": OBJECT_ID_PATTERN}
_PAGE = {200: {"description": "One page of objects, in the order asked.",
               "headers": {"X-Total-Count": {"description": "Objects the filters select, over all pages.",
                                             "schema": {"type": "integer", "minimum": 0}}}},
         **errors(422)}


class ObjectRow(ObjectSummary):
    """One row of the object list: an object's summary, the probability the list reads and the distance."""

    prob: float | None = Field(description="Probability of prob_cls (or the leading probability without it).")
    separation_arcsec: float | None = Field(description="Distance from the centre [arcsec] (cone search).")


def _selection(
    service: ServiceDep,
    order: Annotated[Literal["asc", "desc"] | None, Query(
        description="Default: asc for distance and object_id, desc for the others.")] = None,
    cls: Annotated[str | None, Query(description="Only objects whose leading class is this.")] = None,
    prob_cls: Annotated[str | None, Query(description="The class whose probability min_prob and sort=prob "
                                          "read; default: each object's leading class.")] = None,
    min_prob: Annotated[float | None, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = None,
    min_n_obs: Annotated[int, Query(ge=0, le=2**31 - 1, description="At least this many detections.")] = 0,
    object_id: Annotated[str | None, Query(description="This id exactly.", **_ID)] = None,
    id_prefix: Annotated[str | None, Query(description="Ids starting with this (case-sensitive).", **_ID)
                         ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The parameters both routes share, checked (a class the model does not have is a 422 naming it)."""
    for name, value in (("cls", cls), ("prob_cls", prob_cls)):
        _known_class(service, name, value)
    return {"order": order, "cls": cls, "prob_cls": prob_cls, "min_prob": min_prob, "min_n_obs": min_n_obs,
            "object_id": object_id, "id_prefix": id_prefix, "limit": limit, "offset": offset}


Selection = Annotated[dict[str, Any], Depends(_selection)]


@router.get("/objects", response_model=list[ObjectRow], tags=["read"], responses=_PAGE)
def list_objects(
    service: ServiceDep,
    response: Response,
    selection: Selection,
    sort: Annotated[ListSort, Query(description=_SORT_HELP)] = "updated",
) -> list[dict[str, Any]]:
    """The object list an observer vets: filtered, searched by id, sorted, one page at a time.

    Without parameters: the most recently updated objects first. Objects with no value of the sort key (no
    detection yet) come last in either order.
    """
    return _page(service, response, selection, sort, None)


@router.get("/conesearch", response_model=list[ObjectRow], tags=["read"], responses=_PAGE)
def cone_search(
    service: ServiceDep,
    response: Response,
    selection: Selection,
    ra: Annotated[float, Query(ge=0.0, lt=360.0, allow_inf_nan=False, description="Centre, RA [deg].")],
    dec: Annotated[float, Query(ge=-90.0, le=90.0, allow_inf_nan=False, description="Centre, Dec [deg].")],
    radius: Annotated[float, Query(gt=0.0, le=648000.0, allow_inf_nan=False, description="Radius [arcsec].")],
    sort: Annotated[ListSort | Literal["distance"],
                    Query(description=f"distance (from the centre), {_SORT_HELP}")] = "distance",
) -> list[dict[str, Any]]:
    """The objects within ``radius`` arcsec of (``ra``, ``dec``) -- exact angular separation, through RA 0/360
    and over the poles -- nearest first unless sorted otherwise, with the filters of ``GET /objects``."""
    return _page(service, response, selection, sort, Cone(ra=ra, dec=dec, radius_arcsec=radius))


def _page(
    service: ClassificationService, response: Response, selection: dict[str, Any], sort: str,
    cone: Cone | None,
) -> list[dict[str, Any]]:
    order = selection.pop("order") or ("asc" if sort in ("distance", "object_id") else "desc")
    rows, total = service.store.search_objects(
        ObjectQuery(sort=sort, descending=order == "desc", cone=cone, **selection)  # type: ignore[arg-type]
    )
    response.headers["X-Total-Count"] = str(total)
    return rows


def _known_class(service: ClassificationService, name: str, value: str | None) -> None:
    if value is not None and value not in service.model.classes:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", name], "msg": f"unknown class {value!r}; the model's classes are "
              f"{list(service.model.classes)}", "type": "value_error"}],
        )
