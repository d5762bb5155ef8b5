"""The custom field keys the contacts hold, with the kinds of value under each: what a filter
builder offers for `customField`, and the columns of an export."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from app.db import connection, dialect
from app.enums import CustomFieldKind
from app.filters.compile import DAY_PATTERN_PG, DAY_PATTERN_SQLITE
from app.filters.sql import TRUE, Sql, render, sql


@dataclass(frozen=True)
class CustomFieldKey:
    key: str
    kinds: list[CustomFieldKind]  # in the enum's order
    contact_count: int  # contacts holding a value (not null) under the key


# A value's kind as the filter's conditions see it: `date` matches the strings that start with
# a day (the compiler's own pattern), `string` the others, `number` JSON numbers.
_KIND = {
    "postgres": sql(
        "CASE jsonb_typeof(j.value)"
        " WHEN 'string' THEN CASE WHEN (j.value #>> '{}') ~ ? THEN 'DATE' ELSE 'STRING' END"
        " WHEN 'number' THEN 'NUMBER' WHEN 'boolean' THEN 'BOOLEAN' ELSE 'OTHER' END",
        DAY_PATTERN_PG,
    ),
    "sqlite": sql(
        "CASE j.type"
        " WHEN 'text' THEN CASE WHEN j.value GLOB ? THEN 'DATE' ELSE 'STRING' END"
        " WHEN 'integer' THEN 'NUMBER' WHEN 'real' THEN 'NUMBER'"
        " WHEN 'true' THEN 'BOOLEAN' WHEN 'false' THEN 'BOOLEAN' ELSE 'OTHER' END",
        DAY_PATTERN_SQLITE,
    ),
}
_EACH = {
    "postgres": "jsonb_each(c.custom_fields) j WHERE jsonb_typeof(j.value) <> 'null'",
    "sqlite": "json_each(c.custom_fields) j WHERE j.type <> 'null'",
}


async def custom_field_keys(account_id: int, where: Sql = TRUE) -> list[CustomFieldKey]:
    """Every key that the account's contacts matching `where` (a predicate on contacts `c`)
    hold a value under, sorted; one statement."""
    kind = dialect()
    statement = (
        Sql("SELECT j.key AS key, ")
        + _KIND[kind]
        + Sql(f" AS kind, COUNT(*) AS n FROM contacts c, {_EACH[kind]}")
        + sql(" AND c.account_id = ? AND ", account_id)
        + where
        + Sql(" GROUP BY 1, 2")
    )
    rows = await connection().execute_query_dict(render(statement, kind), list(statement.params))
    kinds: dict[str, set[CustomFieldKind]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        kinds[row["key"]].add(CustomFieldKind(row["kind"]))
        counts[row["key"]] += int(row["n"])  # a contact holds a key once: kinds add up
    order = list(CustomFieldKind)
    return [
        CustomFieldKey(key, sorted(kinds[key], key=order.index), counts[key])
        for key in sorted(kinds)
    ]
