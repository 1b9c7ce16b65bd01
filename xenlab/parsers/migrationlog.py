"""xl's account of a live migration, timed: `xl -vvv migrate`'s lines as xenlab records them
(`SECONDS TEXT`: the seconds since the migration started when the line arrived, on this
machine's clock) -> the moments that split the move into phases.

What marks each moment, as xl 4.17 prints it with -vvv (the box's capture):
- the memory copy starts:  `xc: info: Saving domain N, type x86 PV`
- the guest is suspended:  `libxl: debug: ...: Domain N:guest has suspended`
  (else `...issuing PV suspend request...`): from here the guest runs nowhere
- the last pages are in:   `xc: info: Restore successful` (the receiving side)
- the domain is built:     `migration target: Transfer complete, ...` (its devices set up)
- the guest runs again:    `migration target: Domain started successsfully.` (xl's spelling)
  (else `migration sender: Target reports successful startup.`)
- the source is done:      `Migration successful.`
A moment xl did not print is None (xl without -vvv prints no suspend line).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from xenlab.errors import ParseError

_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?) (.*)$")
# moment -> the texts that mark it, the first found wins (in order of preference)
_MARKS = {
    "copy_start": (r"xc: info: Saving domain \d+",),
    "suspended": (r"guest has suspended", r"issuing \S+ suspend request"),
    "restored": (r"xc: info: Restore successful",),
    "transferred": (r"migration target: Transfer complete",),
    "resumed": (r"migration target: Domain started succ", r"Target reports successful startup"),
    "done": (r"^Migration successful\.",),
}


@dataclass(frozen=True)
class MigrationPhases:
    """Seconds since the migration started at which each moment was seen; None: not seen."""

    copy_start: float | None
    suspended: float | None
    restored: float | None
    transferred: float | None
    resumed: float | None
    done: float | None

    @property
    def paused_s(self) -> float | None:
        """Suspended on the source until it runs on the destination: the toolstack's pause."""
        return _span(self.suspended, self.resumed)

    def spans(self) -> tuple[tuple[str, float, float], ...]:
        """(phase, from, to) for each phase whose two ends were seen, in order."""
        edges = (("set-up", 0.0, self.copy_start), ("live copy", self.copy_start, self.suspended),
                 ("final copy", self.suspended, self.restored),
                 ("devices on the destination", self.restored, self.transferred),
                 ("handover", self.transferred, self.resumed),
                 ("source clean-up", self.resumed, self.done))
        return tuple((name, a, b) for name, a, b in edges if a is not None and b is not None)


def _span(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(b - a, 3)


def parse_migration_log(text: str) -> MigrationPhases:
    timed = []
    for line in text.splitlines():
        if not line.strip():
            continue
        found = _LINE.match(line)
        if found is None:
            raise ParseError("parse_migration_log", text, f"a line without its time: {line[:60]!r}")
        timed.append((float(found[1]), found[2]))
    if not timed:
        raise ParseError("parse_migration_log", text, "empty output")
    seen = {}
    for moment, patterns in _MARKS.items():
        seen[moment] = next((t for pattern in patterns for t, said in timed
                             if re.search(pattern, said)), None)
    if all(value is None for value in seen.values()):
        raise ParseError("parse_migration_log", text, "no line of xl's migration")
    return MigrationPhases(**seen)
