"""PlainFieldsExecutor gives what graphql-core's own execution gives: the same data and the
same errors (messages and paths), for plain fields, objects and lists of objects read from
attributes, prefetched relations, and every way a field can fail or be null."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry import relay

from app.graphql.execution import PlainFieldsExecutor, prefetchable

RESOLVED: list[str] = []  # the items whose `more` resolver ran


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    size: int | None = None

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[int]
    label: str
    color: Color
    maybe: str | None
    leaves: list[Leaf]
    nullable_leaves: list[Leaf | None] | None
    one: Leaf | None
    prefetched: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    @strawberry.field
    @prefetchable("more")
    async def more(self) -> list[Leaf]:
        RESOLVED.append(self.label)
        return [Leaf(name=f"more-{self.label}")]

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken {self.label}")

    @strawberry.field
    def strict(self) -> str:
        raise ValueError(f"strict {self.label}")


def _items(kind: str) -> list[Any]:
    good = [
        Item(
            id=n,
            label=f"i{n}",
            color=Color.RED if n % 2 else Color.BLUE,
            maybe=None if n % 3 else "m",
            leaves=[Leaf(name=f"l{n}{k}", size=k or None) for k in range(n % 3)],
            nullable_leaves=[Leaf(name="x"), None] if n % 2 else None,
            one=Leaf(name="one") if n % 2 else None,
            # What the resolver would give, read for the page (odd items only).
            prefetched={"more": [Leaf(name=f"more-i{n}")]} if n % 2 else {},
        )
        for n in range(1, 6)
    ]
    if kind == "wrong type":
        good[2].leaves = ["not a leaf"]  # type: ignore[list-item]
    if kind == "null in a non-null list":
        good[1].leaves = [Leaf(name="ok"), None]  # type: ignore[list-item]
    if kind == "null non-null field":
        good[3].label = None  # type: ignore[assignment]
    if kind == "failed prefetch":
        good[0].prefetched = {"more": RuntimeError("prefetch failed")}
    return good


@strawberry.type
class Query:
    kind: strawberry.Private[str] = "plain"

    @strawberry.field
    def items(self) -> list[Item]:
        return _items(self.kind)

    @strawberry.field
    def nullable_items(self) -> list[Item] | None:
        return _items(self.kind)


def _schema(executor: type | None) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=executor)


FAST, PLAIN = _schema(PlainFieldsExecutor), _schema(None)

QUERIES = [
    "{ items { id label color maybe leaves { name size loud } one { name } } }",
    "{ items { label nullableLeaves { name } more { name } } }",
    "{ nullableItems { label strict } }",
    "{ items { label broken leaves { name } } }",
    "{ nullableItems { label leaves { name } } }",
    "{ items { ...F } } fragment F on Item { label l2: leaves { n: name } }",
    "query($s: Boolean!) { items { label leaves @skip(if: $s) { name } } }",
]
KINDS = ["plain", "wrong type", "null in a non-null list", "null non-null field", "failed prefetch"]


def _shown(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("query", QUERIES)
async def test_the_same_answer_as_graphql_core(query: str, kind: str) -> None:
    root = Query(kind=kind)
    variables = {"s": False}
    fast = await FAST.execute(query, root_value=root, variable_values=variables)
    plain = await PLAIN.execute(query, root_value=root, variable_values=variables)
    assert _shown(fast) == _shown(plain)


async def test_a_prefetched_relation_is_read_without_its_resolver() -> None:
    RESOLVED.clear()
    result = await FAST.execute("{ items { more { name } } }", root_value=Query())
    assert result.data is not None
    assert [item["more"][0]["name"] for item in result.data["items"]] == [
        f"more-i{n}" for n in range(1, 6)
    ]
    assert RESOLVED == ["i2", "i4"]  # the odd items' were prefetched
