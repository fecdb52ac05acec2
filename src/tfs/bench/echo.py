"""A bare ASGI echo: reads the body and answers it. The ceiling of the HTTP stack.

Served exactly as `tfs serve` serves the service (uvicorn, its default loop, the service's
bounded httptools protocol, no log config, no access log, no server header), with the same
number of workers.
It hands back the caller's correlation id, as the service does, so one wrk script fits both.
"""

from __future__ import annotations

import argparse

from starlette.types import Message, Receive, Scope, Send

CORRELATION = b"x-correlation-id"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    chunks, more = [], True
    while more:
        part: Message = await receive()
        chunks.append(part.get("body", b""))
        more = part.get("more_body", False)
    body = b"".join(chunks)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(k, v) for k, v in scope["headers"] if k == CORRELATION]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    from tfs.api.server import PROTOCOL

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "tfs.bench.echo:app",
        http=PROTOCOL,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
