"""Every parser, on every golden capture mutated the ways real output goes wrong
(truncated, lines reordered, dropped or repeated, numbers and names changed), returns a
value or raises its ParseError showing the first lines it saw: never another exception.

Hypothesis draws the mutations (derandomized: the same cases on every run)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenlab.errors import ParseError

from .test_parsers import PARSERS

DATA = Path(__file__).parent / "data"
CAPTURES = sorted(p for p in DATA.glob("*/*.txt") if p.parent.name in PARSERS)
NUMBER = re.compile(r"\d+")
NAME = re.compile(r"[A-Za-z_][A-Za-z_-]*")


@st.composite
def mutated(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["truncate", "reorder", "drop", "repeat", "number", "name",
                                 "several"]))
    for _ in range(draw(st.integers(2, 4)) if kind == "several" else 1):
        step = kind if kind != "several" else draw(st.sampled_from(
            ["truncate", "reorder", "drop", "repeat", "number", "name"]))
        if step == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
        elif step == "reorder" and lines:
            text = "".join(draw(st.permutations(lines)))
        elif step in ("drop", "repeat") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines = lines[:i] + ([lines[i]] * 2 if step == "repeat" else []) + lines[i + 1:]
            text = "".join(lines)
        elif step in ("number", "name"):
            found = list((NUMBER if step == "number" else NAME).finditer(text))
            if found:
                m = draw(st.sampled_from(found))
                new = (str(draw(st.integers(-1, 10**12))) if step == "number"
                       else draw(st.text("abcxyzXYZ_-:.0123 ", min_size=0, max_size=12)))
                text = text[:m.start()] + new + text[m.end():]
        lines = text.splitlines(keepends=True)
    return text


def parses_or_says_what_it_saw(parse, capture: Path):
    """The property, as a Hypothesis test of `parse` on mutations of `capture`."""
    @settings(max_examples=30, derandomize=True, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutated(capture.read_text()))
    def check(text: str) -> None:
        try:
            parse(text)
        except ParseError as exc:
            assert "saw: " in str(exc), str(exc)
    return check


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_mutated_capture_parses_or_fails_with_its_parse_error(capture):
    parses_or_says_what_it_saw(PARSERS[capture.parent.name], capture)()


def test_the_property_finds_a_parser_that_crashes_on_a_mutation():
    def fragile(text: str) -> str:  # trusts that a second line is there
        return text.splitlines()[1]
    with pytest.raises(IndexError):
        parses_or_says_what_it_saw(fragile, DATA / "xl-list" / "box-dom0-only-tab-header.txt")()
