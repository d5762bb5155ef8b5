"""The query cost limit: an upper bound of the objects a request can return, from its document
and variables, checked after validation and before any resolver (or SQL) runs."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from api.data import build
from api.support import Api, queries
from app.graphql.cost import LIST_OF_OBJECTS, QueryCostLimiter, query_cost
from app.graphql.schema import schema
from app.limits import DEFAULT_PAGE, MAX_PAGE, MAX_QUERY_COST

ATTACK = """
{ contacts(first: 20) { edges { node { segments {
  members(first: 500) { edges { node { email } } }
} } } } }"""
# 1 connection + 20 * (edge + contact + 20 * (segment + connection + 500 * (edge + contact)))
ATTACK_COST = 1 + 20 * (2 + LIST_OF_OBJECTS * (2 + 500 * 2))

CONTACT_PAGE = """
query($first: Int) {
  contacts(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id email firstName isCustomer
      tags { id name contactCount }
      products { product { id title kind } progress source grantedAt }
      segments { id name kind count { value isStale } }
    } }
  }
}"""

NESTED = """
query($n: Int) {
  segments(first: $n) { edges { node { name members(first: $n) { edges { node { email } } } } } }
}"""

CONTACT_FIELDS = """
fragment Row on Contact { email tags { name } products { product { title } } segments { name } }"""


def cost(query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    return query_cost(schema._schema, parse(query), name, variables)


def refusal(errors: list[dict[str, Any]]) -> dict[str, Any]:
    [error] = errors
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert error["extensions"]["limit"] == MAX_QUERY_COST
    assert "path" not in error  # a request error: nothing was executed
    assert error["message"] == (
        f"This query could return up to {error['extensions']['cost']} objects; "
        f"the limit is {MAX_QUERY_COST}. Ask for smaller pages."
    )
    return error


# -- the model, on the schema alone -------------------------------------------------------------


def test_the_attack_costs_what_it_could_return() -> None:
    assert cost(ATTACK) == ATTACK_COST > MAX_QUERY_COST


def test_scalars_cost_nothing_beyond_their_object() -> None:
    assert cost("{ viewer { name } }") == 1
    assert cost("{ viewer { name settings { inactivityDays } } }") == 2
    assert cost("{ __typename }") == 0


def test_a_connection_counts_its_page_and_not_its_page_info() -> None:
    assert cost("{ tags(first: 7) { totalCount pageInfo { hasNextPage } } }") == 2
    assert cost("{ tags(first: 7) { edges { node { name } } } }") == 1 + 7 * 2
    assert cost("{ contacts(last: 9) { edges { cursor } } }") == 1 + 9


def test_absent_or_null_page_sizes_use_the_default_page() -> None:
    expected = 1 + DEFAULT_PAGE * 2
    assert cost("{ contacts { edges { node { email } } } }") == expected
    assert cost("{ contacts(first: null) { edges { node { email } } } }") == expected
    assert cost("query($n: Int) { tags(first: $n) { edges { node { name } } } }") == expected
    assert cost("query($n: Int) { tags(first: $n) { edges { node { name } } } }", {"n": None}) == (
        expected
    )


def test_variables_are_read_as_execution_coerces_them() -> None:
    query = "query($n: Int = 400) { tags(first: $n) { edges { node { name } } } }"
    assert cost(query) == 1 + 400 * 2  # the declared default
    assert cost(query, {"n": 3}) == 1 + 3 * 2
    assert cost(query, {"n": 3.0}) == 1 + 3 * 2  # graphql-core coerces 3.0 to 3
    # Values execution refuses anyway count as the default page.
    assert cost(query, {"n": "many"}) == 1 + DEFAULT_PAGE * 2
    assert cost("{ tags(first: -5) { edges { node { name } } } }") == 1 + DEFAULT_PAGE * 2


def test_the_builder_choices_cost_like_any_list() -> None:
    # campaigns is a connection: its page counts; customFieldKeys a plain list of objects.
    assert cost("{ campaigns(first: 500) { edges { node { name sent } } } }") == 1 + 500 * 2
    assert cost("{ campaigns { totalCount edges { cursor } } }") == 1 + DEFAULT_PAGE
    assert cost("{ customFieldKeys { key kinds contactCount } }") == LIST_OF_OBJECTS
    aliased = " ".join(
        f"c{i}: campaigns(first: 500) {{ edges {{ node {{ name }} }} }}" for i in range(100)
    )
    assert cost(f"{{ {aliased} }}") > MAX_QUERY_COST


def test_plain_lists_of_objects_count_a_fixed_size() -> None:
    assert cost('{ node(id: "x") { ... on Contact { tags { name } } } }') == 1 + LIST_OF_OBJECTS
    assert cost("{ segmentPreview(filter: {isCustomer: true}) { count sample { email } } }") == (
        1 + LIST_OF_OBJECTS
    )


def test_fragments_and_aliases_add_up() -> None:
    one = cost("{ contacts(first: 10) { edges { node { email } } } }")
    aliased = "{ a: contacts(first: 10) { edges { node { email } } } b: contacts(first: 10) { edges { node { email } } } }"
    assert cost(aliased) == 2 * one
    spread = (
        "query { a: contacts(first: 10) { ...Page } b: contacts(first: 10) { ...Page } }"
        " fragment Page on ContactConnection { edges { node { ...Email } } }"
        " fragment Email on Contact { email }"
    )
    assert cost(spread) == 2 * one
    inline = (
        "{ contacts(first: 10) { ... on ContactConnection { edges { ... { node { email } } } } } }"
    )
    assert cost(inline) == one
    # A fragment spread in a connection of another size counts that size.
    sizes = (
        "{ a: contacts(first: 10) { ...Page } b: contacts(first: 30) { ...Page } }"
        " fragment Page on ContactConnection { edges { node { email } } }"
    )
    assert cost(sizes) == (1 + 10 * 2) + (1 + 30 * 2)


def test_fragments_spreading_fragments_are_walked_once_each() -> None:
    # 2^40 expansions if walked naively; memoised, a handful of steps.
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} " for i in range(40))
    assert cost("{ ...F0 } " + chain + "fragment F40 on Query { viewer { name } }") == 2**40


def test_only_the_chosen_operation_counts() -> None:
    document = (
        "query Small { tags(first: 1) { edges { node { name } } } }"
        " query Large { contacts(first: 500) { edges { node { email } } } }"
    )
    assert cost(document, name="Small") == 3
    assert cost(document, name="Large") == 1001
    assert cost(document, name="Missing") == 0  # execution refuses it


def test_a_page_of_contacts_with_their_relations_costs_well_under_the_limit() -> None:
    full = cost(CONTACT_PAGE, {"first": MAX_PAGE})
    # connection + page info + 500 * (edge + contact + 20 * (tag + owned product + its product
    # + segment + its count))
    assert full == 2 + MAX_PAGE * (2 + LIST_OF_OBJECTS * (1 + 2 + 2))
    assert full < MAX_QUERY_COST


def test_the_cost_extension_is_installed() -> None:
    assert QueryCostLimiter in schema.extensions


# -- over HTTP ----------------------------------------------------------------------------------


async def test_the_attack_is_refused_before_any_sql(api: Api) -> None:
    await build(api)
    await api.run("{ viewer { name } }")  # the token's hourly use stamp, out of the way
    with queries() as baseline:
        await api.run("{ __typename }")
    with queries() as log:
        response = await api.raw(ATTACK)
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    error = refusal(body["errors"])
    assert error["extensions"]["cost"] == ATTACK_COST
    # Only the token lookup ran, as for a query that touches no table.
    assert len(log.statements) == len(baseline.statements)
    assert not [s for s in log.statements if "contact" in s.lower()]


async def test_a_refusal_is_a_400_without_data_for_graphql_response_json(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": ATTACK},
        headers={
            "Authorization": f"Bearer {api.token}",
            "Accept": "application/graphql-response+json",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    refusal(body["errors"])


async def test_a_refused_mutation_writes_nothing(api: Api) -> None:
    errors = await api.errors(
        """mutation { contactsUpsert(input: [{email: "new@example.com"}]) {
             contacts { segments { members(first: 500) { edges { node { email } } } } }
           } }"""
    )
    refusal(errors)
    data = await api.run("{ contacts { totalCount } }")
    assert data["contacts"]["totalCount"] == 0


async def test_a_page_of_500_contacts_with_tags_products_and_segments_passes(api: Api) -> None:
    await build(api)
    data = await api.run(CONTACT_PAGE, {"first": 500})
    nodes = [edge["node"] for edge in data["contacts"]["edges"]]
    assert len(nodes) == 4
    ada = next(node for node in nodes if node["firstName"] == "Ada")
    assert [tag["name"] for tag in ada["tags"]] and ada["products"] and ada["segments"]


async def test_variables_are_honoured(api: Api) -> None:
    data = await api.run(NESTED, {"n": 5})
    assert len(data["segments"]["edges"]) == 5
    error = refusal(await api.errors(NESTED, {"n": 500}))
    assert error["extensions"]["cost"] == cost(NESTED, {"n": 500})
    # A variable left out takes its declared default.
    with_default = NESTED.replace("query($n: Int)", "query($n: Int = 500)")
    refusal(await api.errors(with_default))
    await api.run(with_default, {"n": 5})


async def test_aliases_and_fragments_are_counted(api: Api) -> None:
    page = "contacts(first: 500) { edges { node { ...Row } } }"
    await api.run(f"{{ a: {page} }} {CONTACT_FIELDS}")
    single = cost(f"{{ a: {page} }} {CONTACT_FIELDS}")
    assert 2 * single < MAX_QUERY_COST < 3 * single
    error = refusal(await api.errors(f"{{ a: {page} b: {page} c: {page} }} {CONTACT_FIELDS}"))
    assert error["extensions"]["cost"] == 3 * single


@pytest.mark.parametrize("first", ["", "(first: null)"])
async def test_an_absent_page_size_counts_the_default_page(api: Api, first: str) -> None:
    query = f"{{ contacts{first} {{ edges {{ node {{ segments {{ members {{ edges {{ node {{ email }} }} }} }} }} }} }} }}"
    error = refusal(await api.errors(query))
    # 1 + 50 * (edge + contact + 20 * (segment + connection + 50 * (edge + contact)))
    expected = 1 + DEFAULT_PAGE * (2 + LIST_OF_OBJECTS * (2 + DEFAULT_PAGE * 2))
    assert error["extensions"]["cost"] == expected


async def test_the_parse_and_validation_caches_still_hit(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost depends on the variables, yet a repeated document is parsed and validated once:
    the check is no validation rule, and the limiters' rules are the same classes every time."""
    calls: list[object] = []
    validate = strawberry_schema.validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    parsed = _get_parse_cache(256).cache_info()
    validated = _get_validate_cache(256).cache_info()
    query = NESTED.replace("query(", f"query Probe{secrets.token_hex(4)}(")

    await api.run(query, {"n": 5})
    await api.run(query, {"n": 5})
    refusal(await api.errors(query, {"n": 500}))

    assert len(calls) == 1  # validated by the first request only
    assert _get_parse_cache(256).cache_info().hits - parsed.hits >= 2
    assert _get_validate_cache(256).cache_info().hits - validated.hits >= 2
