"""The request-size limit: ASGI middleware that answers 413 before an oversized body reaches a route."""

from __future__ import annotations

from typing import Any

from fastapi import status
from fastapi.responses import JSONResponse

__all__ = ["BodySizeLimit"]


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
