"""schema.graphql is the checked-in contract; `segments export-schema` rewrites it."""

from pathlib import Path

from app.graphql.schema import sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == sdl(), (
        "schema.graphql is out of date: run `segments export-schema` and commit it"
    )


def test_contract_names_are_present() -> None:
    text = sdl()
    for name in (
        "node(id: ID!): Node",
        "viewer: Account!",
        "segmentPreview(filter: ContactFilter!, sample: Int = 10): SegmentPreview!",
        "segmentDelete(id: ID!, confirm: Boolean!): SegmentDeletePayload!",
        "input ContactFilter @oneOf",
        "emailEventsRecord(input: [EmailEventInput!]!): EmailEventsPayload!",
    ):
        assert name in text, name
