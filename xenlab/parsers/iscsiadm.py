"""open-iscsi `iscsiadm` outputs: discovery, session list, session detail (-P 3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, lines, parser, split_field, to_int

NO_SESSIONS = "iscsiadm: No active sessions."
NO_PORTALS = "iscsiadm: No portals found"
# host:port,tpgt as iscsiadm prints a portal; IPv6 hosts come in brackets.
_PORTAL_PATTERN = r"(?P<address>\[[^\]]+\]|[^\s,\[\]]+):(?P<port>\d+),(?P<tpgt>\d+)"
# Init-script chatter printed before the answer, e.g. "Starting iscsid:  [ OK ]".
_SERVICE_NOTE = re.compile(r"Starting .*\[\s*OK\s*\]")
_PORTAL = re.compile(_PORTAL_PATTERN)
_DISCOVERED = re.compile(_PORTAL_PATTERN + r"\s+(?P<iqn>\S+)")
_SESSION = re.compile(
    r"(?P<transport>[\w-]+):\s*\[(?P<sid>\d+)\]\s+"
    + _PORTAL_PATTERN
    + r"\s+(?P<iqn>\S+)(\s+\(.*\))?"
)
_TARGET = re.compile(r"Target:\s*(?P<iqn>\S+)(\s+\(.*\))?")
_DISK = re.compile(r"Attached scsi disk\s+(\S+)")


@dataclass(frozen=True)
class IscsiPortalTarget:
    address: str
    port: int
    tpgt: int
    iqn: str


@dataclass(frozen=True)
class IscsiSession:
    transport: str
    sid: int
    address: str
    port: int
    tpgt: int
    iqn: str


@dataclass(frozen=True)
class IscsiSessionDetail:
    iqn: str
    address: str
    port: int
    sid: int
    state: str | None
    connection_state: str | None
    iscsid_state: str | None  # 'Internal iscsid Session State', e.g. REOPEN in recovery
    disks: tuple[str, ...]


def _answer_lines(text: str, nothing: str) -> list[str]:
    """The lines that carry the answer; [] when iscsiadm says there is nothing."""
    found = [line.strip() for line in lines(text) if not _SERVICE_NOTE.fullmatch(line.strip())]
    if not found:
        raise Unparsable("only service start-up messages, no answer")
    return [] if found == [nothing] else found


def _portal(found: re.Match[str]) -> tuple[str, int, int]:
    """(address without IPv6 brackets, port, tpgt) from a portal match."""
    return found["address"].strip("[]"), int(found["port"]), int(found["tpgt"])


def _fullmatch(pattern: re.Pattern[str], line: str, what: str) -> re.Match[str]:
    found = pattern.fullmatch(line)
    if not found:
        raise Unparsable(f"not a {what} line: {line!r}")
    return found


@parser()
def parse_discovery(text: str) -> tuple[IscsiPortalTarget, ...]:
    """`iscsiadm -m discovery -t st -p HOST`: one 'portal,tpgt iqn' per line."""
    targets = []
    for line in _answer_lines(text, NO_PORTALS):
        found = _fullmatch(_DISCOVERED, line, "'address:port,tpgt iqn'")
        targets.append(IscsiPortalTarget(*_portal(found), iqn=found["iqn"]))
    return tuple(targets)


@parser(empty=())
def parse_sessions(text: str) -> tuple[IscsiSession, ...]:
    """`iscsiadm -m session`; 'No active sessions.' (exit 21) means ()."""
    sessions = []
    for line in _answer_lines(text, NO_SESSIONS):
        found = _fullmatch(_SESSION, line, "'transport: [sid] portal iqn'")
        address, port, tpgt = _portal(found)
        sessions.append(IscsiSession(
            found["transport"], int(found["sid"]), address, port, tpgt, found["iqn"]
        ))
    return tuple(sessions)


@parser(empty=())
def parse_session_detail(text: str) -> tuple[IscsiSessionDetail, ...]:
    """`iscsiadm -m session -P 3`: one entry per 'Current Portal' (= session)."""
    answer = _answer_lines(text, NO_SESSIONS)
    if not answer:
        return ()
    details: list[dict] = []
    iqn = None
    for line in answer:
        target = _TARGET.fullmatch(line)
        disk = _DISK.match(line)
        field = split_field(line)
        if target:
            iqn = target["iqn"]
        elif disk:
            if not details:
                raise Unparsable(f"disk before any 'Current Portal:' line: {line!r}")
            details[-1]["disks"].append(disk[1])
        elif field and field[0] == "Current Portal":
            if iqn is None:
                raise Unparsable("'Current Portal:' before any 'Target:' line")
            portal = _fullmatch(_PORTAL, field[1], "'address:port,tpgt' portal")
            address, port, _ = _portal(portal)
            details.append({"iqn": iqn, "address": address, "port": port, "disks": []})
        elif field and details:
            details[-1].setdefault(field[0], field[1])
    if not details:
        raise Unparsable("no 'Target:' / 'Current Portal:' session found")
    return tuple(_detail(d) for d in details)


def _detail(fields: dict) -> IscsiSessionDetail:
    if "SID" not in fields:
        raise Unparsable(f"session to {fields['iqn']} has no 'SID:' line")
    return IscsiSessionDetail(
        iqn=fields["iqn"],
        address=fields["address"],
        port=fields["port"],
        sid=to_int(fields["SID"], "SID"),
        state=fields.get("iSCSI Session State"),
        connection_state=fields.get("iSCSI Connection State"),
        iscsid_state=fields.get("Internal iscsid Session State"),
        disks=tuple(fields["disks"]),
    )


@parser()
def parse_initiator_name(text: str) -> str:
    """/etc/iscsi/initiatorname.iscsi -> the initiator's IQN (`InitiatorName=...`)."""
    names = [line.split("=", 1)[1].strip() for line in lines(text)
             if line.strip().startswith("InitiatorName=")]
    if not names or not names[0]:
        generate = any(line.strip().startswith("GenerateName=") for line in lines(text))
        raise Unparsable("no InitiatorName= line" + (
            " (GenerateName=yes: iscsid names the initiator when it first starts)"
            if generate else ""))
    return names[0]
