"""What the routes share: the service, the token check for writes, the 422s, and the documented answers."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lcrnn.serve.config import ServeConfig
from lcrnn.serve.routes.bodies import Error
from lcrnn.serve.service import ClassificationService

__all__ = ["Authorised", "ConfigDep", "ServiceDep", "check_class", "errors", "require_token", "unprocessable",
           "validation_error"]

_MEANING = {
    400: "The body is not JSON.",
    401: "No bearer token.",
    403: "Wrong bearer token, or writes disabled on this server.",
    404: "No such object (or observation).",
    409: "The object is registered at another position.",
    413: "The request body or batch is too large.",
    422: "A field is missing, of the wrong type, not finite, or breaks a rule of the data layer.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each error status it can answer, with the :class:`Error` body."""
    return {code: {"model": Error, "description": _MEANING[code]} for code in codes}


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as text: JSON has no NaN or Infinity, so echoing them would fail."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 for a refused request, with every echoed input made JSON (``NaN`` becomes ``"nan"``)."""
    detail = _finite(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

_bearer = HTTPBearer(
    auto_error=False, description="The token in the server's LCRNN_API_TOKEN environment variable."
)


def service_of(request: Request) -> ClassificationService:
    """The service opened by the app's lifespan."""
    return request.app.state.service


def config_of(request: Request) -> ServeConfig:
    """The configuration the app was created with."""
    return request.app.state.config


ServiceDep = Annotated[ClassificationService, Depends(service_of)]
ConfigDep = Annotated[ServeConfig, Depends(config_of)]


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


Authorised = Depends(require_token)


def unprocessable(exc: Exception, loc: Callable[[int, str], list[str | int]]) -> HTTPException:
    """422 for input the data layer refused, in FastAPI's shape: one entry per offending field.

    Each entry's ``loc`` is ``loc(row, column)`` for the field's first bad row (the data layer's
    ``invalid_rows``) and its ``msg`` the data layer's message, which counts and names every bad row.
    """
    rows: dict[str, list[int]] = getattr(exc, "invalid_rows", None) or {}
    message = getattr(exc, "problems", None) or str(exc)  # without advice an HTTP client cannot follow
    if not rows:
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [
            {"loc": loc(bad[0], column), "msg": message, "type": "value_error"}
            for column, bad in rows.items()
        ],
    )


def check_class(cls: str, service: ClassificationService) -> None:
    """422 naming the query parameter when ``cls`` is not one of the model's classes."""
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
