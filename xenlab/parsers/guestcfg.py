"""xm / xl domain configuration files (/etc/xen/<guest>).

They look like Python assignments. xm used to *execute* them; we never do:
`ast.parse` only builds a syntax tree and `ast.literal_eval` only accepts
literals, so a file holding code is an error, not a program.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from ._common import Unparsable, parser, to_int

_BACKENDS = ("phy", "file", "tap", "tap2", "qdisk", "drbd", "iscsi", "nbd")


@dataclass(frozen=True)
class DiskSpec:
    target: str  # the image path or device
    backend_type: str | None  # "file", "phy", "tap:aio", xl backendtype=; None if not said
    vdev: str
    mode: str  # as written: "w"/"r" (xm) or "rw"/"ro" (xl access=)


@dataclass(frozen=True)
class VifSpec:
    bridge: str | None
    mac: str | None
    ip: str | None
    raw: str


@dataclass(frozen=True)
class GuestConfig:
    name: str
    kernel: str | None
    ramdisk: str | None
    memory_mib: int | None
    vcpus: int | None
    disks: tuple[DiskSpec, ...]
    root: str | None
    extra: str | None
    vifs: tuple[VifSpec, ...]
    on_crash: str | None
    on_reboot: str | None
    on_shutdown: str | None
    settings: tuple[tuple[str, str], ...]  # every key; lists as JSON text


def _assignments(text: str) -> dict[str, Any]:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise Unparsable(f"not a key = value file (line {exc.lineno}: {exc.msg})") from None
    values: dict[str, Any] = {}
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            raise Unparsable(f"line {statement.lineno} is not 'key = value'")
        key = statement.targets[0].id
        try:
            values[key] = ast.literal_eval(statement.value)
        except (ValueError, TypeError, SyntaxError):
            raise Unparsable(f"{key} (line {statement.lineno}) is not a literal value") from None
    return values


def _words(value: Any, key: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise Unparsable(f"{key} is not a list of strings: {value!r}")
    return list(value)


def _options(spec: str) -> dict[str, str]:
    """'a=1, b=2' -> {'a': '1', 'b': '2'} (bare words are ignored)."""
    pairs = (part.partition("=") for part in spec.split(","))
    return {key.strip(): value.strip() for key, eq, value in pairs if eq}


def _disk(spec: str) -> DiskSpec:
    if "=" in spec:  # xl keywords; target= comes last and takes the rest of the line
        head, _, target = spec.partition("target=")
        options = _options(head)
        if not target.strip() or "vdev" not in options:
            raise Unparsable(f"xl disk spec needs vdev= and target=: {spec!r}")
        mode = options.get("access", "rw")
        return DiskSpec(target.strip(), options.get("backendtype"), options["vdev"], mode)
    parts = [part.strip() for part in spec.split(",")]
    if len(parts) == 4:  # xl positional: target, format, vdev, access
        return DiskSpec(parts[0], None, parts[2], parts[3])
    if len(parts) != 3:
        raise Unparsable(f"disk spec is not '[type:]target,vdev,mode': {spec!r}")
    backend, _, target = parts[0].partition(":")
    if backend not in _BACKENDS or not target:  # no prefix: a bare path
        return DiskSpec(parts[0], None, parts[1], parts[2])
    if backend in ("tap", "tap2") and ":" in target:  # tap:aio:/path
        kind, _, target = target.partition(":")
        backend = f"{backend}:{kind}"
    return DiskSpec(target, backend, parts[1], parts[2])


def _vif(spec: str) -> VifSpec:
    options = _options(spec)
    mac = options.get("mac")
    return VifSpec(options.get("bridge"), mac.lower() if mac else None, options.get("ip"), spec)


def _setting(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, tuple)) else str(value)


@parser()
def parse_guest_config(text: str) -> GuestConfig:
    values = _assignments(text)
    if not isinstance(values.get("name"), str):
        raise Unparsable("no name = \"...\"")

    def text_of(key: str) -> str | None:
        value = values.get(key)
        return None if value is None else str(value)

    def number(key: str) -> int | None:
        return None if key not in values else to_int(values[key], key)

    return GuestConfig(
        name=values["name"],
        kernel=text_of("kernel"),
        ramdisk=text_of("ramdisk"),
        memory_mib=number("memory"),
        vcpus=number("vcpus"),
        disks=tuple(_disk(spec) for spec in _words(values.get("disk", []), "disk")),
        root=text_of("root"),
        extra=text_of("extra"),
        vifs=tuple(_vif(spec) for spec in _words(values.get("vif", []), "vif")),
        on_crash=text_of("on_crash"),
        on_reboot=text_of("on_reboot"),
        on_shutdown=text_of("on_shutdown"),
        settings=tuple((key, _setting(value)) for key, value in values.items()),
    )
