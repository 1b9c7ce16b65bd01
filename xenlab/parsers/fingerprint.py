"""A host's fingerprint: the versions a lab report and a regression run compare.

`FINGERPRINT_COMMAND` prints one section per part, each after a `## name`
line; a part whose tool is missing is an empty section. Read-only, one
command per host.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, parser

FINGERPRINT_COMMAND = (
    "echo '## kernel'; uname -r; "
    "echo '## hypervisor'; cat /sys/hypervisor/type /sys/hypervisor/version/major "
    "/sys/hypervisor/version/minor /sys/hypervisor/version/extra 2>/dev/null; "
    "echo '## toolstack'; for t in xl xm; do command -v $t; done; "
    "echo '## tgt'; tgtadm --version 2>/dev/null; "
    "echo '## open-iscsi'; iscsiadm --version 2>/dev/null; true"
)
_SECTIONS = ("kernel", "hypervisor", "toolstack", "tgt", "open-iscsi")


@dataclass(frozen=True)
class Fingerprint:
    """What runs on one host; None: not there (no Xen on the target, no tgt on a Xen host)."""

    kernel: str
    xen: str | None  # "4.17.6-pre"
    toolstack: str | None  # "xl" or "xm" (xl first); None where no Xen runs, installed or not
    tgt: str | None  # "1.0.85"
    open_iscsi: str | None  # "2.1.8"

    def fields(self) -> dict[str, str | None]:
        return {"kernel": self.kernel, "xen": self.xen, "toolstack": self.toolstack,
                "tgt": self.tgt, "open-iscsi": self.open_iscsi}


@parser()
def parse_fingerprint(text: str) -> Fingerprint:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif line.strip():
            if current is None:
                raise Unparsable(f"text before the first section: {line.strip()!r}")
            current.append(line.strip())
    missing = [s for s in _SECTIONS if s not in sections]
    if missing:
        raise Unparsable(f"no section {', '.join(missing)}")
    if len(sections["kernel"]) != 1:
        raise Unparsable(f"kernel: expected one line, saw {len(sections['kernel'])}")
    xen = _xen(sections["hypervisor"])
    return Fingerprint(
        kernel=sections["kernel"][0],
        xen=xen,
        toolstack=next((p.rsplit("/", 1)[-1] for p in sections["toolstack"]), None) if xen else None,
        tgt=_version(sections["tgt"], "tgt"),
        open_iscsi=_version(sections["open-iscsi"], "open-iscsi"),
    )


def _xen(lines: list[str]) -> str | None:
    if not lines:
        return None
    if lines[0] != "xen" or len(lines) != 4 or not (lines[1] + lines[2]).isdigit():
        raise Unparsable(f"hypervisor: expected xen, major, minor, extra; saw {lines}")
    return f"{lines[1]}.{lines[2]}{lines[3]}"


def _version(lines: list[str], what: str) -> str | None:
    if not lines:
        return None
    found = re.search(r"(\d+(?:\.\d+)+[\w.-]*)", lines[0])
    if not found:
        raise Unparsable(f"{what}: no version number in {lines[0]!r}")
    return found.group(1)
