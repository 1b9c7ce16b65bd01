"""`modinfo MODULE` (kmod / module-init-tools)."""

from __future__ import annotations

from dataclasses import dataclass

from ._common import Unparsable, lines, parser, split_field


@dataclass(frozen=True)
class ModInfo:
    filename: str
    depends: tuple[str, ...]
    vermagic: str | None
    description: str | None
    alias: tuple[str, ...]


@parser()
def parse_modinfo(text: str) -> ModInfo:
    """'field: value' lines; alias repeats; depends is comma separated."""
    fields: dict[str, list[str]] = {}
    for line in lines(text):
        if line[0].isspace():  # continuation of a long value (signature hex dump)
            continue
        field = split_field(line)
        if field is None:
            raise Unparsable(f"not a 'field: value' line: {line!r}")
        fields.setdefault(field[0], []).append(field[1])
    if "filename" not in fields:
        raise Unparsable("no 'filename:' line")

    def first(key: str) -> str | None:
        return fields.get(key, [None])[0]

    depends = first("depends") or ""
    return ModInfo(
        filename=fields["filename"][0],
        depends=tuple(name for name in depends.split(",") if name),
        vermagic=first("vermagic"),
        description=first("description"),
        alias=tuple(fields.get("alias", ())),
    )
