"""A bound on what one request may send: Gradio reads a call's whole JSON body into memory before
any check of the app's can run, so a body over MAX_BODY_BYTES is refused by this ASGI middleware
from its Content-Length, or as it arrives when it names none. Uploads are bounded by Gradio itself
(`launch(max_file_size=...)`) while they stream to disk."""

from __future__ import annotations

import json

from ..backends.wire import MAX_BYTES

# The largest body the app itself sends: a result as base64 (MAX_BYTES * 4/3) and a map beside it.
MAX_BODY_BYTES = MAX_BYTES * 4 // 3 + 4 * 2**20
UPLOAD_PATHS = ("/gradio_api/upload",)


class BodyLimit:
    """ASGI middleware: a request whose body is over `max_bytes` gets 413 and one line."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"a request may send at most {self.max_bytes // 2**20} MiB"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").endswith(UPLOAD_PATHS):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a body with no length, longer than allowed: the client is gone
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, counted, send)


def app_kwargs() -> dict:
    """What `launch(app_kwargs=...)` takes to put the limit in front of the app."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(BodyLimit)]}
