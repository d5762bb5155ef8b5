"""create_app(): the Starlette application, its routes and its lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from app import graphiql
from app.boot import configure
from app.db import close_db, init_db, pending_migrations
from app.exports import segment_members_csv
from app.graphql.view import AuthenticatedGraphQL
from app.health import healthz, readyz
from app.schedule import periodic
from app.scheduler import EmbeddedScheduler
from app.services.tasks import finish_pending
from app.settings import Settings


class UnmigratedDatabase(RuntimeError):
    pass


def migrate_hint(pending: list[str]) -> str:
    return (
        f"The database has {len(pending)} unapplied migration(s) ({', '.join(pending)}). "
        "Run `segments migrate` first."
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure(settings)
        await init_db(settings, serving=True)
        scheduler: asyncio.Task[None] | None = None
        try:
            pending = await pending_migrations()
            if pending:
                raise UnmigratedDatabase(migrate_hint(pending))
            # What is loaded by now (the schema, Strawberry, graphql-core and Tortoise objects)
            # lives as long as the process; frozen, the collector stops rescanning it on every
            # full pass, which a page's allocations trigger every few dozen requests (about a
            # quarter of a large page's CPU before).
            gc.freeze()
            if settings.task_mode == "inprocess" and settings.schedule:
                # No beat without Redis: this process runs the schedule itself.
                scheduler = asyncio.create_task(EmbeddedScheduler(periodic(settings)).run())
            yield
        finally:
            if scheduler is not None:
                scheduler.cancel()
                with suppress(asyncio.CancelledError):
                    await scheduler
            await finish_pending()
            await close_db()

    app = Starlette(
        routes=[
            Route("/graphql", AuthenticatedGraphQL(settings.graphiql), methods=["GET", "POST"]),
            Route("/segments/{segment_id}/members.csv", segment_members_csv, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            # GraphiQL's own files, so its page needs no internet (app.graphiql).
            *([Mount(graphiql.ASSETS_PATH, graphiql.assets())] if settings.graphiql else []),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
