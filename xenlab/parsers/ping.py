"""`ping -D` (iputils): each reply with its receive time, and the statistics lines.

With -D every reply line starts with the receive time in seconds since the
epoch, which is what measuring a migration's network gap needs:
`[1795642219.523575] 64 bytes from 198.51.100.4: icmp_seq=8592 ttl=64 time=6.45 ms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, lines, parser, to_float, to_int

_REPLY = re.compile(r"\[(?P<t>\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(?P<seq>\d+)"
                    r" ttl=\d+ time=(?P<rtt>[\d.]+) ms(?P<dup> \(DUP!\))?")
_COUNTS = re.compile(r"(?P<sent>\d+) packets transmitted, (?P<received>\d+) received"
                     r"(, \+\d+ duplicates)?(, \+\d+ errors)?, [\d.]+% packet loss(, time \d+ms)?")
# Lines that carry nothing a probe needs: the header, -p's pattern, ICMP errors
# ("[t] From 198.51.100.1 icmp_seq=1 Destination Host Unreachable"), -O's
# "no answer yet", the statistics title and the rtt / pipe line.
_KNOWN = re.compile(r"PING |PATTERN: 0x|\[\d+\.\d+\] (From |no answer yet )"
                    r"|--- .* ping statistics ---$|(rtt|round-trip) min/avg/max|pipe \d+$")


@dataclass(frozen=True)
class PingReply:
    t: float  # receive time, seconds since the epoch (the pinging host's clock)
    seq: int
    rtt_ms: float


@dataclass(frozen=True)
class PingProbe:
    replies: tuple[PingReply, ...]  # in the order printed; duplicates left out
    transmitted: int
    received: int


@parser()
def parse_ping_timestamps(text: str) -> PingProbe:
    """Reply lines must carry -D's [time]; the 'packets transmitted' line must be there."""
    replies, counts = [], None
    for line in lines(text):
        line = line.strip()
        if reply := _REPLY.fullmatch(line):
            if not reply["dup"]:
                replies.append(PingReply(to_float(reply["t"], "time"),
                                         to_int(reply["seq"], "icmp_seq"),
                                         to_float(reply["rtt"], "time=")))
        elif found := _COUNTS.fullmatch(line):
            counts = found
        elif not _KNOWN.match(line):
            why = " (no -D timestamp?)" if " bytes from " in line else ""
            raise Unparsable(f"not a ping -D line{why}: {line!r}")
    if counts is None:
        raise Unparsable("no 'packets transmitted' line (ping did not end normally?)")
    return PingProbe(tuple(replies), to_int(counts["sent"], "transmitted"),
                     to_int(counts["received"], "received"))
