"""The bare baseline: `POST /v1/tickets` that only parses the body with the router's real `TicketCreate`.

No middleware, no database, no bus, no logging: FastAPI's request parsing and validation of the same
schema, and a small 201 JSON answer, served by uvicorn exactly as `firstcall serve` configures it (uvloop,
httptools, access log off). What the router costs beyond this is the price of its work.

    python -m bench.baseline --port 8100
"""

from __future__ import annotations

import argparse
import uuid

import uvicorn
from fastapi import FastAPI, status
from fastapi.responses import JSONResponse

from services.router.tickets.schemas import TicketCreate

app = FastAPI(title="firstcall bench baseline")


@app.post("/v1/tickets", status_code=status.HTTP_201_CREATED)
async def open_ticket(body: TicketCreate) -> JSONResponse:
    # A JSONResponse, as the router returns: no response-model pass on the way out.
    return JSONResponse({"id": str(uuid.uuid4()), "channel": body.channel, "status": "open"}, status_code=201)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
