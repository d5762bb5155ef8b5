"""A leaner execution of plain fields, for large pages.

graphql-core executes every field alike: a path, a resolve info, the resolver, then the value's
completion, about 8 µs a field, and a page of contacts is mostly fields that only read an
attribute (`email`, `createdAt`...) and the Relay `id`. For those this executor reads the
attribute and coerces the value with the field's own scalar or enum, nothing else; every other
field, and any plain field whose value is not an ordinary one (null in a non-null field, a
value its type refuses, an exception), goes through graphql-core's own path, which gives the
answer and the error it always gave. Reading an attribute twice is harmless, so falling back
after trying is safe.

Used only where nothing could observe the difference: no field middleware (a schema extension
with a `resolve` hook would wrap every field) and no `@defer`/`@stream` delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, partial
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.relay import GlobalID, Node
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_STRAWBERRY_FIELD = GraphQLCoreConverter.DEFINITION_BACKREF
_BASIC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
_NODE_ID = Node.__dict__["_id"].__func__
_NODE_RESOLVE_ID = Node.__dict__["resolve_id"].__func__
_NODE_RESOLVE_TYPENAME = Node.__dict__["resolve_typename"].__func__
_NO_VALUE = object()  # the plain path can't tell: let graphql-core do the field
_NO_INFO: Any = None
_INT32 = -(2**31)  # GraphQL's Int: -2^31 <= n < 2^31
F = TypeVar("F", bound=Callable[..., Any])  # Strawberry's is_type_of reads only the value


class _Plain(NamedTuple):
    read: Callable[[Any, str], Any]  # how the source's value is read
    name: str  # the attribute (or, for a Relay id, the type name)
    coerce: Callable[[Any], Any]  # the leaf type's output coercion
    non_null: bool


class _Nested(NamedTuple):
    """An object, or a list of objects, read from an attribute or a prefetched relation."""

    read: Callable[[Any], Any]
    return_type: GraphQLOutputType  # the field's type, as graphql-core handles its errors
    object_type: GraphQLObjectType
    item_type: GraphQLOutputType | None  # for a list: its items' type


class _Entry(NamedTuple):
    response_name: str
    fields: FieldDetailsList
    plain: _Plain | None
    nested: _Nested | None


# Set on a resolver (see `prefetchable`): the relation its source may hold already read.
PREFETCHED = "__segments_prefetched__"


def prefetchable(relation: str) -> Callable[[F], F]:
    """Marks a resolver whose value the source may hold, read for a whole page, in
    `source.prefetched[relation]`; there the executor reads it without calling the resolver.
    Anything else there (nothing, a failure) and the resolver runs as usual."""

    def mark(resolver: F) -> F:
        setattr(resolver, PREFETCHED, relation)
        return resolver

    return mark


def _prefetched(source: Any, relation: str) -> Any:
    found = getattr(source, "prefetched", {}).get(relation, _NO_VALUE)
    return _NO_VALUE if isinstance(found, Exception) else found


def _attribute(source: Any, name: str) -> Any:
    return getattr(source, name)


def _node_id(source: Any, type_name: str) -> Any:
    """What Node.id resolves to, for a Node that keeps Strawberry's own id resolution."""
    cls = type(source)
    if not (
        isinstance(source, Node)
        and cls.resolve_id.__func__ is _NODE_RESOLVE_ID
        and cls.resolve_typename.__func__ is _NODE_RESOLVE_TYPENAME
    ):
        return _NO_VALUE
    node_id = getattr(source, cls.resolve_id_attr())
    if node_id is None:
        return _NO_VALUE
    return GlobalID(type_name=type_name, node_id=str(node_id))


def _strawberry_field(field_def: GraphQLField) -> StrawberryField | None:
    definition = (field_def.extensions or {}).get(_STRAWBERRY_FIELD)
    if field_def.args or type(definition) is not StrawberryField or definition.extensions:
        return None
    return definition


def _read_as_attribute(field_def: GraphQLField, definition: StrawberryField) -> bool:
    """Strawberry's own resolution of a field without a resolver: getattr, nothing else."""
    return (
        definition.base_resolver is None
        and getattr(field_def.resolve, "__qualname__", None) == _BASIC_RESOLVER
        and definition.default_resolver is getattr
    )


@cache
def _plain(parent_type: GraphQLObjectType, field_name: str) -> _Plain | None:
    """How to read a leaf field without graphql-core's per-field machinery, if it can be
    (once per field of the schema)."""
    field_def = parent_type.fields.get(field_name)
    definition = _strawberry_field(field_def) if field_def is not None else None
    if field_def is None or definition is None:
        return None
    non_null = isinstance(field_def.type, GraphQLNonNull)
    leaf = field_def.type.of_type if non_null else field_def.type
    if not is_leaf_type(leaf):
        return None
    coerce = _coerce(leaf)
    if _read_as_attribute(field_def, definition):
        return _Plain(_attribute, definition.python_name, coerce, non_null)
    resolver = definition.base_resolver
    wrapped = getattr(resolver.wrapped_func, "__func__", None) if resolver else None
    if wrapped is _NODE_ID and field_name == "id":
        return _Plain(_node_id, parent_type.name, coerce, non_null)
    return None


@cache
def _nested(parent_type: GraphQLObjectType, field_name: str) -> _Nested | None:
    """How to read an object field (or a list of objects) that is an attribute, if it is."""
    field_def = parent_type.fields.get(field_name)
    definition = _strawberry_field(field_def) if field_def is not None else None
    if field_def is None or definition is None:
        return None
    read: Callable[[Any], Any]
    if _read_as_attribute(field_def, definition):
        read = attrgetter(definition.python_name)
    else:
        resolver = definition.base_resolver
        relation = getattr(resolver.wrapped_func, PREFETCHED, None) if resolver else None
        if relation is None:
            return None
        read = partial(_prefetched, relation=relation)
    inner = get_nullable_type(field_def.type)
    item_type = inner.of_type if isinstance(inner, GraphQLList) else None
    object_type = get_nullable_type(item_type) if item_type is not None else inner
    if not isinstance(object_type, GraphQLObjectType):
        return None
    return _Nested(read, field_def.type, object_type, item_type)


def _coerce(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """The leaf type's output coercion, with the values built-in scalars pass unchanged
    (a str for String and ID, a bool for Boolean, a 32-bit int for Int) let through at once."""
    general = leaf.coerce_output_value
    if leaf is GraphQLString or leaf is GraphQLID:
        return lambda value: value if type(value) is str else general(value)
    if leaf is GraphQLBoolean:
        return lambda value: value if type(value) is bool else general(value)
    if leaf is GraphQLInt:
        return lambda value: (
            value if type(value) is int and _INT32 <= value < -_INT32 else general(value)
        )
    return general


class PlainFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain fields read directly (see the module's doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per (type, selection): graphql-core memoises the selection for a list's items, so a
        # page's fifty contacts share one plan. The selection is kept alive with its plan.
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[GroupedFieldSet, list[_Entry]]]
        self._plans = {}
        manager = self.middleware_manager
        self._lean = manager is None or not manager.middlewares

    def _plan(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> list[_Entry]:
        key = (parent_type, id(grouped))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        plan = []
        for name, fields in grouped.items():
            field_name = fields[0].node.name.value
            plain = _plain(parent_type, field_name)
            nested = None if plain is not None else _nested(parent_type, field_name)
            plan.append(_Entry(name, fields, plain, nested))
        self._plans[key] = (grouped, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._lean or position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, fields, plain, nested in self._plan(parent_type, grouped_field_set):
                if plain is not None:
                    value = _plain_value(plain, source_value)
                    if value is not _NO_VALUE:
                        results[response_name] = value
                        continue
                if nested is not None:
                    field_path = Path(path, response_name, parent_type.name)
                    value = self._nested_value(nested, fields, source_value, field_path)
                    if value is not _NO_VALUE:
                        results[response_name] = value
                        if is_awaitable(value):
                            awaitable_fields.append(response_name)
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    fields,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # As graphql-core does: settle what other fields started, they may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _nested_value(
        self, nested: _Nested, fields: FieldDetailsList, source: Any, path: Path
    ) -> Any:
        """The completed object (or list of objects), or _NO_VALUE for graphql-core to do it:
        anything but present objects of the right type. Errors below are handled where
        graphql-core handles them: at each item, then at the field."""
        try:
            value = nested.read(source)
        except Exception:
            return _NO_VALUE
        if value is _NO_VALUE:
            return _NO_VALUE
        items = value if nested.item_type is not None else (value,)
        if type(items) not in (list, tuple):
            return _NO_VALUE
        # As graphql-core: a type without is_type_of takes any value.
        is_type_of = nested.object_type.is_type_of
        if any(item is None for item in items) or (
            is_type_of is not None and any(is_type_of(item, _NO_INFO) is not True for item in items)
        ):
            return _NO_VALUE
        grouped, defer_usages, _ = self.collect_subfields(nested.object_type, fields)
        if defer_usages:
            return _NO_VALUE
        completed: AwaitableOrValue[Any]
        try:
            if nested.item_type is None:
                completed = self.execute_fields(nested.object_type, value, path, grouped, None)
            else:
                completed = self._items(nested, fields, items, path, grouped)
        except Exception as error:
            self.handle_field_error(error, nested.return_type, fields, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def settle() -> Any:
            try:
                return await completed
            except Exception as error:
                self.handle_field_error(error, nested.return_type, fields, path)
                return None

        return settle()

    def _items(
        self,
        nested: _Nested,
        fields: FieldDetailsList,
        items: Sequence[Any],
        path: Path,
        grouped: GroupedFieldSet,
    ) -> AwaitableOrValue[list[Any]]:
        item_type = nested.item_type
        assert item_type is not None
        completed: list[Any] = []
        pending: list[int] = []
        for index, item in enumerate(items):
            item_path = Path(path, index, None)
            try:
                value = self.execute_fields(nested.object_type, item, item_path, grouped, None)
            except Exception as error:
                self.handle_field_error(error, item_type, fields, item_path)
                value = None
            if self.is_awaitable(value):
                value = self._settle_item(value, item_type, fields, item_path)
                pending.append(index)
            completed.append(value)
        if not pending:
            return completed

        async def settle() -> list[Any]:
            awaited = await gather_with_cancel(*(completed[i] for i in pending))
            for index, value in zip(pending, awaited, strict=True):
                completed[index] = value
            return completed

        return settle()

    async def _settle_item(
        self, value: Any, item_type: GraphQLOutputType, fields: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await value
        except Exception as error:
            self.handle_field_error(error, item_type, fields, path)
            return None


def _plain_value(plain: _Plain, source: Any) -> Any:
    """The field's completed value, or _NO_VALUE for anything but the ordinary case."""
    try:
        value = plain.read(source, plain.name)
        if value is None:
            return _NO_VALUE if plain.non_null else None
        if value is _NO_VALUE or value is Undefined or isinstance(value, Exception):
            return _NO_VALUE
        coerced = plain.coerce(value)
    except Exception:
        return _NO_VALUE
    return _NO_VALUE if coerced is None or coerced is Undefined else coerced


__all__ = ["PlainFieldsExecutor", "prefetchable"]
