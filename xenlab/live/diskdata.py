"""What the guest writes to its own disk, kept across a move (--guest-data=DIR).

Through the guest's console, like its heartbeat (xenlab.live.guest): where DIR lives in
the guest (its mount table), a block of random data written and synced before the move
(its md5 read back after it), and sequence-numbered records written and synced by the
guest throughout the move. After the move the guest writes back what it held, drops its
page cache and reads both from the disk, through the destination's backend: what the
source wrote must be there, whole.

Pure parts (parse_guest_mounts, parse_records, ...) are tested on the guest's own output.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from xenlab.errors import XenlabError
from xenlab.live.console import ConsoleError, GuestConsole
from xenlab.live.guest import WAIT_FIFO, guest_run, typed

RECORDS = "xenlab-records"  # the files the check writes in DIR, and removes after it
BEFORE = "xenlab-before"
BEFORE_KIB = 1024  # the block written before the move: 16 x 64 KiB of /dev/urandom
_SAFE_DIR = re.compile(r"/[A-Za-z0-9_./-]{1,40}")  # typed: "D=DIR" within a short line


class GuestDataError(XenlabError):
    """--guest-data names no directory the check may use."""


def check_dir(path: str) -> str:
    """DIR as given, if it is an absolute path of plain characters (it is typed in the
    guest's console); a GuestDataError in one line otherwise."""
    if not _SAFE_DIR.fullmatch(path) or "/../" in path + "/" or path.rstrip("/") == "":
        raise GuestDataError(f"--guest-data: expected an absolute directory of the guest "
                             f"other than /, of at most 40 letters, digits and . _ - /; got "
                             f"{path!r}")
    return path.rstrip("/")


# --- where DIR is: the guest's mount table ------------------------------------------------

@dataclass(frozen=True)
class GuestMount:
    device: str  # "/dev/xvdb", "/dev/xvda1"; the kernel's root= for "/dev/root"
    mountpoint: str
    fstype: str
    read_write: bool

    @property
    def disk(self) -> str | None:
        """The whole disk's name as blkfront calls it (xvdb for /dev/xvdb1); None when the
        filesystem is not on a disk (tmpfs, proc...)."""
        m = re.fullmatch(r"/dev/(xvd[a-z]+)\d*", self.device)
        return m[1] if m else None


def parse_guest_mounts(mounts: str, cmdline: str, path: str) -> GuestMount:
    """The mount holding `path`: the longest mount point of /proc/mounts that contains it
    (the last such line: a later mount hides an earlier one). /dev/root is named by the
    kernel's root= (/proc/cmdline)."""
    best: GuestMount | None = None
    for line in mounts.splitlines():
        words = line.split()
        if len(words) < 4:
            continue
        device, point, fstype, options = words[:4]
        inside = point == "/" or path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best.mountpoint)):
            best = GuestMount(device, point, fstype, "rw" in options.split(","))
    if best is None:
        raise ConsoleError(f"no mount holds {path} in the guest's /proc/mounts "
                           f"({mounts.strip()[:80]!r})")
    if best.device == "/dev/root":
        root = re.search(r"(?:^|\s)root=(\S+)", cmdline)
        if root:
            best = GuestMount(root[1], best.mountpoint, best.fstype, best.read_write)
    return best


def guest_mount(console: GuestConsole, path: str) -> GuestMount:
    """Where `path` is in the guest, from its own mount table (read-only)."""
    return parse_guest_mounts(guest_run(console, "cat /proc/mounts"),
                              guest_run(console, "cat /proc/cmdline"), path)


# --- before the move: a block of data, and the records written throughout -----------------

# The writer: a record every ~0.5 s, each appended and synced before the next (the guest
# believes it is on the disk). "r SEQ UPTIME SEQ ." - the sequence twice and an end mark, so
# a torn or mixed line shows. One fork per record, sync's (busybox runs it as a process;
# forks make page tables the move must copy again): at 5 records a second the box's live
# copy took 75 s where 55 s are usual. Typed a short line at a time (80 columns).
WRITER_LINES = (
    "echo 'n=0;while read u i </proc/uptime' >/dev/xrb",
    "echo 'do n=$((n+1));echo \"r $n $u $n .\" >>$1' >>/dev/xrb",
    "echo 'sync;read -t 0.5 x <&3;done' >>/dev/xrb",
)
# The reading: count, last sequence, torn lines, first missing sequence, the longest time
# between two records, the first record's uptime.
SUMMARY_LINES = (
    "echo '$1!=\"r\"||NF!=5||$2!=$4||$5!=\".\"{t++;next}' >/dev/xrg",
    "echo '$2!=n+1&&!h{h=n+1}' >>/dev/xrg",
    "echo 'n&&$3-p>g{g=$3-p}{c++;n=$2;p=$3}' >>/dev/xrg",
    "echo 'NR==1{f=$3}' >>/dev/xrg",
    "echo 'END{print c+0,n+0,t+0,h+0,g+0,f+0}' >>/dev/xrg",
)


_ECHOED = re.compile(r"echo '(.*)' >>?(/dev/x\w+)")


def write_file(console: GuestConsole, lines: tuple[str, ...]) -> None:
    """A file of the guest's /dev written by `echo '...' >FILE` lines, then read back: its
    md5 must be that of what was typed (written again once if not). The content decides,
    not each echo's status: once on the box an echo whose line was written whole said 1."""
    found = [_ECHOED.fullmatch(line) for line in lines]
    path = found[0][2]
    digest = hashlib.md5("".join(m[1] + "\n" for m in found).encode()).hexdigest()
    said = ""
    for _ in range(2):
        for line in lines:
            typed(console, line)
        said = guest_run(console, f"md5sum {path}")
        if said.split()[:1] == [digest]:
            return
    raise ConsoleError(f"{console.where}: {path} not as typed (md5 {digest}); saw "
                       f"{said.strip()[:80]!r}")


# The shell's names for the two files (D=DIR first): short lines to type.
NAMED = f"B=$D/{BEFORE}; R=$D/{RECORDS}"
NAMES = f"{NAMED}; rm -f $R"
WRITE_BEFORE = f"dd if=/dev/urandom of=$B bs=64k count={BEFORE_KIB // 64} conv=fsync"


def start_writing(console: GuestConsole, directory: str, seconds: float) -> str:
    """The block written and synced, the writer started in the background for at most
    `seconds`; the block's md5 as the guest read it back from its disk."""
    guest_run(console, f"D={directory}")
    guest_run(console, NAMES)
    guest_run(console, WRITE_BEFORE, timeout=60)
    digest = read_back(console)
    typed(console, WAIT_FIFO)
    write_file(console, WRITER_LINES)
    write_file(console, SUMMARY_LINES)  # for after the move: fewer lines to type then
    guest_run(console, f"timeout {int(seconds)} sh /dev/xrb $R & XR=$!")
    return digest


def read_back(console: GuestConsole) -> str:
    """The block's md5 read from the disk: the guest's dirty pages written, its page cache
    dropped first (the guest's own; its kernel then asks the disk's backend)."""
    drop_caches(console)
    said = guest_run(console, "md5sum $B", timeout=60).split()
    if not said or not re.fullmatch(r"[0-9a-f]{32}", said[0]):
        raise ConsoleError(f"{console.where}: no md5 of {BEFORE} in {' '.join(said)[:80]!r}")
    return said[0]


def drop_caches(console: GuestConsole) -> None:
    guest_run(console, "sync; echo 3 >/proc/sys/vm/drop_caches", timeout=60)


# --- after the move: what the disk holds ----------------------------------------------------

@dataclass(frozen=True)
class Records:
    """The records as the guest read them back from its disk after the move."""

    count: int
    last: int  # the last record's sequence number
    torn: int  # lines that are not a whole record
    first_missing: int  # 0: none missing
    longest_gap_s: float  # the longest time between two records, by the guest's clock
    first_s: float  # the first record's uptime


@dataclass(frozen=True)
class GuestData:
    """The data check of one move."""

    directory: str
    before_md5: str  # the block written before the move, read back on the source
    after_md5: str  # the same block read back on the destination
    records: Records


def stop_and_read(console: GuestConsole, directory: str) -> tuple[str, Records]:
    """The writer stopped; the block's md5 and the records, read back from the disk; both
    files removed (the guest is left as found)."""
    guest_run(console, "kill $XR 2>/dev/null; wait $XR 2>/dev/null; true")
    guest_run(console, f"D={directory}")  # the shell's names again, whatever became of them
    guest_run(console, NAMED)
    digest = read_back(console)  # drops the cache for both files
    said = guest_run(console, "awk -f /dev/xrg $R", timeout=60)
    guest_run(console, "rm -f $R $B")
    return digest, parse_records(said, console.where)


def parse_records(said: str, where: str = "guest") -> Records:
    """The summary SUMMARY_LINES print: count, last, torn, first missing, gap, first."""
    words = said.split()
    try:
        count, last, torn, missing = (int(w) for w in words[:4])
        gap, first = float(words[4]), float(words[5])
    except (IndexError, ValueError):
        raise ConsoleError(f"{where}: no records summary (count, last, torn, missing, gap, "
                           f"first) in {said.strip()[:80]!r}") from None
    return Records(count, last, torn, missing, round(gap, 3), first)
