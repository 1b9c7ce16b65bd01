"""S-expressions as xend writes them, and /etc/xen/xend-config.sxp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ._common import Unparsable, parser, to_bool, to_int

Sxp = Union[str, tuple["Sxp", ...]]

# One token: a bracket, a quoted string (with backslash escapes), a comment, an atom.
_TOKEN = re.compile(
    r"""(?P<open>\()|(?P<close>\))"""
    r"""|(?P<quoted>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|(?P<comment>\#[^\n]*)|(?P<space>\s+)"""
    r"""|(?P<atom>[^\s()'"]+)""",
    re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), token[1:-1], flags=re.DOTALL)


def _read(text: str) -> tuple[Sxp, ...]:
    stack: list[list[Sxp]] = [[]]
    pos = 0
    while pos < len(text):
        token = _TOKEN.match(text, pos)
        if token is None:
            raise Unparsable(f"unterminated string at character {pos}")
        pos = token.end()
        kind = token.lastgroup
        if kind == "open":
            stack.append([])
        elif kind == "close":
            if len(stack) == 1:
                raise Unparsable(f"')' without '(' at character {token.start()}")
            done = tuple(stack.pop())
            stack[-1].append(done)
        elif kind == "quoted":
            stack[-1].append(_unquote(token[0]))
        elif kind == "atom":
            stack[-1].append(token[0])
    if len(stack) != 1:
        raise Unparsable(f"{len(stack) - 1} '(' never closed")
    return tuple(stack[0])


@parser(empty=())
def parse_sxp(text: str) -> tuple[Sxp, ...]:
    """Every top-level expression: lists -> tuples, atoms and strings -> str."""
    return _read(text)


@dataclass(frozen=True)
class XendConfig:
    relocation_server: bool | None
    relocation_port: int | None
    relocation_address: str | None
    relocation_hosts_allow: str | None  # "" (allow everyone) is not None (unset)
    relocation_ssl_server: bool | None
    http_server: bool | None
    unix_server: bool | None
    entries: tuple[tuple[str, str], ...]  # every (name value...) in order


def _render(item: Sxp) -> str:
    if isinstance(item, str):
        return item
    return "(" + " ".join(_render(part) for part in item) + ")"


@parser()
def parse_xend_config(text: str) -> XendConfig:
    """Top-level (name value) entries; as in xend, the first of a name wins."""
    entries = []
    for item in _read(text):
        if isinstance(item, str) or not item or not isinstance(item[0], str):
            raise Unparsable(f"expected a '(name value)' entry, got {_render(item)!r}")
        entries.append((item[0], " ".join(_render(part) for part in item[1:])))
    if not entries:
        raise Unparsable("no '(name value)' entry")
    found: dict[str, str] = {}
    for name, value in entries:
        found.setdefault(name, value)

    def flag(name: str) -> bool | None:
        return to_bool(found[name], name) if name in found else None

    port = found.get("xend-relocation-port")
    return XendConfig(
        relocation_server=flag("xend-relocation-server"),
        relocation_port=None if port is None else to_int(port, "xend-relocation-port"),
        relocation_address=found.get("xend-relocation-address"),
        relocation_hosts_allow=found.get("xend-relocation-hosts-allow"),
        relocation_ssl_server=flag("xend-relocation-ssl-server"),
        http_server=flag("xend-http-server"),
        unix_server=flag("xend-unix-server"),
        entries=tuple(entries),
    )
