"""Every option of every `segments` command says what it does, and what it is when not given."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from app.cli import build_parser


def commands(
    parser: argparse.ArgumentParser, path: str = "segments"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # an alias names the same parser
                    seen.add(id(sub))
                    yield from commands(sub, f"{path} {name}")


def arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            yield action


def test_the_walk_finds_every_command() -> None:
    found = {path for path, _ in commands(build_parser())}
    assert {"segments serve", "segments import-csv", "segments tokens create"} <= found
    assert "segments import" not in found  # the alias of import-csv


def test_every_argument_has_help_and_every_optional_one_its_default() -> None:
    missing: list[str] = []
    for path, parser in commands(build_parser()):
        for action in arguments(parser):
            name = f"{path} {'/'.join(action.option_strings) or action.dest}"
            text = action.help or ""
            if not text.strip() or text == argparse.SUPPRESS:
                missing.append(f"{name}: no help")
            optional = not action.required and (action.option_strings or action.nargs == "?")
            if optional and "default" not in text:
                missing.append(f"{name}: says nothing of its default ({action.default!r})")
    assert missing == []


def test_help_renders_for_every_command() -> None:
    for path, parser in commands(build_parser()):
        text = parser.format_help()
        assert "usage:" in text, path
        if "%(default)" in text:
            raise AssertionError(f"{path}: a help text's %(default)s was not filled in")
