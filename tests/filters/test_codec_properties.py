"""The codec on generated filters: decode(encode(f)) == f, the stored bytes are stable, and the
input shape read back is the input shape given."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from app.filters import codec

from .strategies import Example, examples


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(example=examples())
def test_generated_filters_round_trip(example: Example) -> None:
    for tree in example.filters:
        if tree is None:
            continue
        stored = codec.encode(tree)
        assert codec.decode(stored) == tree
        assert codec.encode(codec.decode(stored)) == stored
        shape = codec.to_input(tree)
        assert codec.to_input(codec.parse(shape)) == shape
