"""A bound on the objects one request may return, checked before it runs.

The cost of a query is an upper bound of the objects its answer can hold, read from the document
and the variables alone:

- a field that returns an object costs 1, times the cost of its selection (fields of scalars and
  enums cost nothing beyond their object);
- a list of objects counts `LIST_OF_OBJECTS` of them, each with its selection;
- a connection (a field taking `first` or `last` whose type has `edges`) counts one connection
  object, and its lists (`edges`) count the page size: `first`/`last` as the request gives them,
  literal or variable, or the default page when absent or null;
- fragments and inline fragments add their selections where they are spread; aliases count
  separately; `@skip`/`@include` are ignored (a bound may only overestimate).

A query whose bound exceeds `MAX_QUERY_COST` is refused before any resolver runs. The check
depends on the variables, so it is not a validation rule (those are cached per document): it runs
in `on_execute`, after parsing and validation, and leaves both caches untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_variable_values
from graphql.type.definition import get_nullable_type
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from app.limits import DEFAULT_PAGE, MAX_QUERY_COST

# A plain list of objects (a contact's tags, products and segments, a segment's history, an
# explanation's conditions, a preview's sample) has no page size to read. Those lists are short
# (an account's contacts carry a handful of tags, products and segments each), so each counts
# as this many objects: enough to make nesting a connection under them expensive, not so much
# that a page of contacts with their tags looks costly.
LIST_OF_OBJECTS = 20

_PAGE_ARGUMENTS = ("first", "last")


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The most objects the chosen operation of `document` can return (0 when no operation is
    chosen: execution then refuses the request itself)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    return _Walk(schema, document, operation, variables or {}).operation()


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.operation_node = operation
        self.variables = dict(variables)
        self.definitions: dict[str, VariableDefinitionNode] = {
            d.variable.name.value: d for d in operation.variable_definitions or ()
        }
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # A fragment costs the same wherever it is spread, but for the page of the connection
        # it may be spread in: memoised, so fragments spreading fragments cannot multiply work.
        self.fragment_costs: dict[tuple[str, int | None], int] = {}
        self.expanding: set[str] = set()
        self.variable_values: dict[str, int | None] = {}

    def operation(self) -> int:
        root = self.schema.get_root_type(self.operation_node.operation)
        if root is None:
            return 0
        return self.selections(self.operation_node.selection_set, root, None)

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        page: int | None,
    ) -> int:
        """The objects below one `parent` for this selection; `page` is the page size when
        `parent` is a connection (its lists then count a page each)."""
        if selection_set is None:
            return 0
        # A union has no fields but __typename: its members come through fragments.
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, fields, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, target, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, page)
        return total

    def spread(self, name: str, page: int | None) -> int:
        definition = self.fragments.get(name)
        if definition is None or name in self.expanding:
            return 0  # unknown or cyclic: validation refuses both
        key = (name, page)
        if key not in self.fragment_costs:
            self.expanding.add(name)
            target = self.schema.get_type(definition.type_condition.name.value)
            self.fragment_costs[key] = self.selections(definition.selection_set, target, page)
            self.expanding.discard(name)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, fields: Mapping[str, GraphQLField], page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            # __typename is a scalar; __schema and __type read the schema in memory.
            return 0
        definition = fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if is_list_type(get_nullable_type(definition.type)):
            count = page if page is not None else LIST_OF_OBJECTS
        else:
            count = 1
        inner_page = self.page_size(definition, node) if _is_connection(definition) else None
        return count * (1 + self.selections(node.selection_set, named, inner_page))

    def page_size(self, definition: GraphQLField, node: FieldNode) -> int:
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        sizes: list[int] = []
        for name in _PAGE_ARGUMENTS:
            if name not in definition.args:
                continue
            size = self.int_value(given[name]) if name in given else None
            if size is None and name not in given:
                default = definition.args[name].default_value
                size = default if _is_int(default) else None
            if size is not None and size >= 0:
                sizes.append(size)
        return max(sizes, default=DEFAULT_PAGE)

    def int_value(self, value: ValueNode) -> int | None:
        """An Int literal, or a variable as execution will coerce it (its default when the
        request leaves it out); None for null or for anything execution would refuse."""
        if isinstance(value, IntValueNode):
            return int(value.value)
        if not isinstance(value, VariableNode):
            return None
        name = value.name.value
        if name not in self.variable_values:
            self.variable_values[name] = self.variable(name)
        return self.variable_values[name]

    def variable(self, name: str) -> int | None:
        definition = self.definitions.get(name)
        if definition is None:
            return None
        coerced = get_variable_values(self.schema, [definition], self.variables)
        if isinstance(coerced, list):
            return None  # execution refuses the variables before any resolver runs
        result = coerced.coerced.get(name)
        return result if _is_int(result) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_connection(definition: GraphQLField) -> bool:
    """A Relay connection: paged by `first`/`last`, with a list of `edges`."""
    if not any(name in definition.args for name in _PAGE_ARGUMENTS):
        return False
    named = get_named_type(definition.type)
    if not isinstance(named, GraphQLObjectType):
        return False
    edges = named.fields.get("edges")
    return edges is not None and is_list_type(get_nullable_type(edges.type))


def too_complex(cost: int, limit: int = MAX_QUERY_COST) -> GraphQLError:
    return GraphQLError(
        f"This query could return up to {cost} objects; the limit is {limit}. "
        "Ask for smaller pages.",
        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "limit": limit},
    )


class QueryCostLimiter(SchemaExtension):
    """Refuses, before execution, an operation whose cost exceeds `MAX_QUERY_COST`."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            cost = query_cost(
                context.schema._schema, document, context.operation_name, context.variables
            )
            if cost > MAX_QUERY_COST:
                # A result set here stands for the execution: Strawberry skips graphql-core's.
                context.result = ExecutionResult(data=None, errors=[too_complex(cost)])
        yield


__all__ = ["LIST_OF_OBJECTS", "QueryCostLimiter", "query_cost", "too_complex"]
