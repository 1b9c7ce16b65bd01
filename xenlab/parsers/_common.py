"""Helpers shared by the parsers (private).

A parser body raises `Unparsable(reason)`; the `parser` decorator turns it
into a `ParseError` that names the public function and shows the text seen.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, TypeVar

from xenlab.errors import ParseError

T = TypeVar("T")
_RAISE = object()

_BOOLEANS = {
    "yes": True, "y": True, "on": True, "true": True, "t": True, "1": True,
    "no": False, "n": False, "off": False, "false": False, "f": False, "0": False,
}


class Unparsable(Exception):
    """Raised inside a parser body; the reason becomes part of the ParseError."""


def parser(empty: Any = _RAISE) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Make a parser body public: blank input -> `empty` (or an error), and
    every `Unparsable` -> `ParseError(<function name>, text, reason)`."""

    def wrap(body: Callable[[str], T]) -> Callable[[str], T]:
        @functools.wraps(body)
        def parse(text: str) -> T:
            if not text.strip():
                if empty is _RAISE:
                    raise ParseError(body.__name__, text, "empty output")
                return empty
            try:
                return body(text)
            except Unparsable as exc:
                raise ParseError(body.__name__, text, str(exc)) from None

        return parse

    return wrap


def lines(text: str) -> list[str]:
    """The non-blank lines of `text`, right-stripped (indentation kept)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def split_field(line: str) -> tuple[str, str] | None:
    """'key : value' (any spacing, even none) -> ('key', 'value'); no colon -> None.

    Only the first colon splits, so values may hold colons (IQNs, hw_caps)."""
    key, sep, value = line.partition(":")
    if not sep or not key.strip():
        return None
    return key.strip(), value.strip()


def to_int(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise Unparsable(f"{what} is not a whole number: {value!r}") from None


def to_float(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise Unparsable(f"{what} is not a number: {value!r}") from None


def to_bool(value: str, what: str) -> bool:
    try:
        return _BOOLEANS[value.strip().lower()]
    except KeyError:
        raise Unparsable(f"{what} is not yes/no: {value!r}") from None


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unparsable(f"not JSON ({exc})") from None


def json_list(obj: dict, key: str) -> list:
    """obj[key] as a list, [] when absent or null; another type is Unparsable."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unparsable(f"{key!r} is not a JSON list: {value!r}")
    return value


def json_object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise Unparsable(f"{what} is not a JSON object: {value!r}")
    return value
