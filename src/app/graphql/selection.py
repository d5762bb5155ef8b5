"""What a request selects below a field, read from the document as execution will: through
fragments and inline fragments, with `@skip` and `@include` applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
    VariableNode,
)

from app.graphql.context import Info


def selects(info: Info, path: Iterable[str]) -> bool:
    """Whether the current field's selection reaches the field at `path` (names, not aliases),
    e.g. ("edges", "node", "tags") below a connection."""
    raw = info._raw_info
    # Strawberry hands resolvers the coerced values; graphql-core, a VariableValues holding them.
    given: Any = raw.variable_values
    variables: Mapping[str, Any] = getattr(given, "coerced", given)
    nodes: list[FieldNode] = list(raw.field_nodes)
    for name in path:
        nodes = [
            found
            for node in nodes
            for found in _fields(node.selection_set, name, raw.fragments, variables)
        ]
        if not nodes:
            return False
    return True


def _fields(
    selection_set: Any,
    name: str,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> list[FieldNode]:
    found: list[FieldNode] = []
    stack: list[SelectionNode] = list(selection_set.selections) if selection_set else []
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if not _included(node, variables):
            continue
        if isinstance(node, FieldNode):
            if node.name.value == name:
                found.append(node)
        elif isinstance(node, InlineFragmentNode):
            stack.extend(node.selection_set.selections)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None and node.name.value not in seen:
                seen.add(node.name.value)
                stack.extend(fragment.selection_set.selections)
    return found


def _included(node: SelectionNode, variables: Mapping[str, Any]) -> bool:
    for directive in node.directives or ():
        kind = directive.name.value
        if kind not in ("skip", "include"):
            continue
        arguments = directive.arguments or ()
        condition = next((a.value for a in arguments if a.name.value == "if"), None)
        if isinstance(condition, BooleanValueNode):
            value = condition.value
        elif isinstance(condition, VariableNode):
            value = variables.get(condition.name.value) is True
        else:  # validation refuses anything else
            continue
        if (kind == "skip" and value) or (kind == "include" and not value):
            return False
    return True
