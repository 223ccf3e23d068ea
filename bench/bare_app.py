"""The ceiling for the list endpoint: a bare Sanic app that returns a 50-item JSON page.

No auth, no database, no validation: the page is built once at import and serialised on every
request with Sanic's own ``json()`` (ujson when installed, as here). bench.limits runs it with
``sanic bench.bare_app:app --workers 2 --no-access-logs`` and drives it with wrk exactly like
the list scenario (same connections, threads, duration and Lua status counting).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

app = Sanic("bench_bare_json")
app.config.ACCESS_LOG = False

_START = datetime(2025, 11, 8, 10, 26, 12, tzinfo=UTC)
PAGE = {
    "items": [
        {
            "id": str(uuid.UUID(int=n + 1)),
            "status": "new",
            "source": "monitoring",
            "description": f"bench incident {n}: disk usage above 90% on db-{n % 50}",
            "created_at": (_START + timedelta(seconds=n)).strftime("%d.%m.%Y %H:%M:%S"),
            "updated_at": (_START + timedelta(seconds=n)).strftime("%d.%m.%Y %H:%M:%S"),
            "version": 1,
        }
        for n in range(50)
    ],
    "page": 1,
    "page_size": 50,
    "total": 10_000,
}


@app.get("/")
async def page(request: Request) -> HTTPResponse:
    return json(PAGE)
