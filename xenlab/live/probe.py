"""The migration probe: a `ping -D` from a third host on the lab network, and what it saw.

The network side of stage 9's "live": the probe runs in the background while the
toolstack moves the guest (BackgroundPing), its replies are timed on the probe
host's clock (clock_offset relates it to ours), and analyse_probe finds the gap.
"""
from __future__ import annotations

import secrets
import statistics
import threading
import time
from dataclasses import dataclass

from xenlab.checks import LabCheckFailed, fail
from xenlab.errors import XenlabError
from xenlab.parsers.ping import PingProbe, parse_ping_timestamps
from xenlab.remote import Host, Result
from xenlab.wait import WaitTimeout, wait_for

ANSWER_WAIT_S = 60.0
# 5 ms: a 10 ms ping from a TCG VM spaced its replies 11.5-12 ms during a migration
# (the probe's resolution, its median reply spacing); 5 ms keeps that under 10 ms.
PROBE_INTERVAL_S = 0.005
PROBE_START_S = 10.0
PROBE_STOP_S = 15.0
PROBE_TAIL_REPLIES = 15  # ~3 s of probing after the migration's end


# --- the probe's analysis (pure) ---------------------------------------------------

@dataclass(frozen=True)
class Downtime:
    """The network gap a migration caused, as the probe host saw it (its clock)."""

    longest_gap_s: float  # between two replies around the migration; inf: one side missing
    gap_start: float | None  # last reply before the gap (epoch); None: none before
    gap_end: float | None  # first reply after it; None: the guest did not answer after
    lost: int  # transmitted - received, as ping counted them
    replies: int
    interval_s: float  # asked for
    resolution_s: float | None  # median spacing of replies: what the probe really resolved
    timeline: tuple[tuple[float, float], ...]  # (seconds since the migration started, rtt ms)


def analyse_probe(probe: PingProbe, interval_s: float, migration_start: float,
                  migration_end: float) -> Downtime:
    """The longest gap between replies that overlaps [migration_start, migration_end].

    Times are epoch seconds of the probe host's clock. With no reply after the
    migration ended (or none before it ended) the gap is infinite.
    """
    times = sorted(reply.t for reply in probe.replies)
    spacings = [b - a for a, b in zip(times, times[1:])]
    if not times or times[0] > migration_end:
        gap = (None, times[0] if times else None)
    elif times[-1] < migration_end:
        gap = (times[-1], None)
    else:
        around = [(a, b) for a, b in zip(times, times[1:])
                  if b >= migration_start and a <= migration_end]
        gap = max(around, key=lambda pair: pair[1] - pair[0],
                  default=(migration_end, migration_end))
    start, end = gap
    return Downtime(
        longest_gap_s=float("inf") if start is None or end is None else round(end - start, 6),
        gap_start=start, gap_end=end,
        lost=probe.transmitted - probe.received,
        replies=len(probe.replies),
        interval_s=interval_s,
        resolution_s=round(statistics.median(spacings), 6) if spacings else None,
        timeline=tuple((round(r.t - migration_start, 6), r.rtt_ms) for r in probe.replies),
    )


def replies_after(host: Host, ip: str, count: int = PROBE_TAIL_REPLIES,
                  timeout: float = ANSWER_WAIT_S) -> bool:
    """Whether the guest answers within timeout; if it does, `count` more pings 0.2 s apart."""
    try:
        check_guest_answers(host, ip, timeout)
    except LabCheckFailed:
        return False
    return host.run("ping -c %s -i 0.2 -W 1 %s", count, ip, timeout=count + 10,
                    ok=(0, 1)).rc == 0


def guest_answers(host: Host, ip: str) -> bool:
    return host.run("ping -c 1 -W 1 %s", ip, timeout=5).ok


def check_guest_answers(host: Host, ip: str, timeout: float = ANSWER_WAIT_S) -> None:
    try:
        wait_for(lambda: (guest_answers(host, ip), "no reply"), timeout=timeout, interval=0.5,
                 what=f"{host.name}: ping {ip}")
    except WaitTimeout:
        fail(host.name, f"the guest answering ping at {ip}", f"no reply within {timeout:g} s")


# --- the probe --------------------------------------------------------------------------

class BackgroundPing:
    """`ping -D` from host to ip in a thread, until stop(): the migration's network gap.

    No -w: with a deadline, iputils ping exits at its first ICMP error. When the
    prober's neighbour entry for the guest expires during the gap, the kernel
    answers "Destination Host Unreachable", and a -w probe ended right there,
    missing the end of the migration (seen on CI as "no reply after the
    migration" with no gap in the replies). Bounded by the command's timeout;
    a unique -p pattern names the process, so stop() interrupts only this ping.
    """

    def __init__(self, host: Host, ip: str, max_s: float, interval_s: float = PROBE_INTERVAL_S):
        self.host, self.ip, self.max_s, self.interval_s = host, ip, max_s, interval_s
        self.tag = secrets.token_hex(8)
        self.result: Result | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"ping-{ip}", daemon=True)

    @property
    def _pattern(self) -> str:  # matches ping's command line, not pkill's nor its parents'
        return f"^ping .*-p {self.tag}"

    def _run(self) -> None:
        try:
            self.result = self.host.migrate("ping -D -i %s -W 1 -p %s %s", self.interval_s,
                                            self.tag, self.ip, timeout=self.max_s, ok=(0, 1))
        except BaseException as exc:  # handed to stop()
            self._error = exc

    def start(self) -> None:
        self._thread.start()
        wait_for(lambda: (self.host.run("pgrep -f %s", self._pattern, timeout=5).ok
                          or not self._thread.is_alive(), "no ping process yet"),
                 timeout=PROBE_START_S, interval=0.2, what=f"{self.host.name}: ping probe start")

    def stop(self, timeout: float = PROBE_STOP_S) -> PingProbe:
        ended_alone = not self._thread.is_alive()
        try:
            self.host.migrate("pkill -INT -f %s", self._pattern, ok=(0, 1), timeout=10)
        finally:
            self._thread.join(timeout)
        if self._thread.is_alive():
            raise XenlabError(f"{self.host.name}: the ping probe did not end within {timeout:g} s "
                              "of SIGINT")
        if self._error is not None:
            raise self._error
        if ended_alone:  # it would leave the end of the migration unobserved
            out = self.result.stdout.splitlines()
            said = ([line for line in out if "packets transmitted" in line]
                    or self.result.stderr.strip().splitlines() or out or ["no output"])
            raise XenlabError(f"{self.host.name}: the ping probe ended before it was stopped "
                              f"(rc {self.result.rc}): {said[-1].strip()}")
        return parse_ping_timestamps(self.result.stdout)


def clock_offset(host: Host) -> float:
    """host's clock minus this machine's (to within half a round trip)."""
    before = time.time()
    seen = host.check("date +%s.%N", timeout=10).stdout.strip()
    after = time.time()
    try:
        return float(seen) - (before + after) / 2
    except ValueError:
        raise XenlabError(f"{host.name}: `date +%s.%N` printed {seen!r}, not a time") from None


