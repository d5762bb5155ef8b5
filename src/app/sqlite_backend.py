"""Tortoise's SQLite client with `lower()` replaced by app.text.fold, so case-insensitive
comparisons agree with PostgreSQL beyond ASCII."""

from __future__ import annotations

from tortoise.backends.sqlite.client import SqliteClient

from app.text import fold


def _lower(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


class FoldingSqliteClient(SqliteClient):
    async def _post_connect(self) -> None:
        await super()._post_connect()
        assert self._connection is not None
        await self._connection.create_function("lower", 1, _lower, deterministic=True)


client_class = FoldingSqliteClient
