"""Stage 9's data check (--guest-data): the guest's mount table, its records' summary (the
real awk program, run here), the proofs on a move's record, and what backs the disk in a
dom0 (the real script, run on this machine's own files and devices)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.inventory import HostSpec
from xenlab.live import diskdata
from xenlab.live.console import ConsoleError
from xenlab.live.diskdata import GuestData, Records, parse_guest_mounts, parse_records
from xenlab.parsers import DomainDisk
from xenlab.remote import Host
from xenlab.stages import guestdata

CAPTURES = Path(__file__).parent / "captures"
MOUNTS = (CAPTURES / "guest-proc-mounts-box-data-lun.txt").read_text()  # the box's guest
CMDLINE = "root=/dev/xvda ro selinux=0 init=/bin/sh"


# --- where DIR is in the guest ---------------------------------------------------------------

def test_a_directory_on_the_data_lun_is_on_xvdb_read_write():
    mount = parse_guest_mounts(MOUNTS, CMDLINE, "/mnt")
    assert (mount.device, mount.mountpoint, mount.fstype, mount.read_write, mount.disk) == (
        "/dev/xvdb", "/mnt", "ext2", True, "xvdb")
    assert parse_guest_mounts(MOUNTS, CMDLINE, "/mnt/sub/dir").disk == "xvdb"


def test_a_directory_on_the_root_is_on_xvda_read_only():
    mount = parse_guest_mounts(MOUNTS, CMDLINE, "/etc")
    assert (mount.device, mount.mountpoint, mount.read_write, mount.disk) == (
        "/dev/xvda", "/", False, "xvda")
    assert parse_guest_mounts(MOUNTS, CMDLINE, "/mntx").mountpoint == "/"  # not /mnt's


def test_dev_root_is_named_by_the_kernels_root_and_memory_is_no_disk():
    root = "/dev/root / ext4 rw,relatime 0 0\nudev /dev devtmpfs rw 0 0\n"
    assert parse_guest_mounts(root, "console=hvc0 root=/dev/xvda1 rw", "/data").disk == "xvda"
    assert parse_guest_mounts(root, CMDLINE, "/dev/shm").disk is None


def test_no_mount_table_is_one_line():
    with pytest.raises(ConsoleError, match=r"^no mount holds /data in the guest's /proc/mounts"):
        parse_guest_mounts("", CMDLINE, "/data")


@pytest.mark.parametrize("given", ["/mnt", "/data/xenlab", "/mnt/"])
def test_a_plain_absolute_directory_is_taken(given):
    assert diskdata.check_dir(given) == given.rstrip("/")


@pytest.mark.parametrize("given", ["/", "mnt", "/mnt;reboot", "/a b", "/$(x)", "/x/../etc",
                                   "/" + "d" * 41])
def test_a_directory_that_cannot_be_typed_safely_is_refused_in_one_line(given):
    with pytest.raises(diskdata.GuestDataError) as caught:
        diskdata.check_dir(given)
    assert "\n" not in str(caught.value) and repr(given) in str(caught.value)


def test_every_line_typed_in_the_guest_fits_its_console():
    longest_dir = "/" + "d" * 40
    lines = (*diskdata.WRITER_LINES, *diskdata.SUMMARY_LINES, diskdata.NAMES,
             diskdata.WRITE_BEFORE, f"D={longest_dir}")
    assert max(len(line) for line in lines) <= 58


# --- the records, read back ------------------------------------------------------------------

def summary(tmp_path: Path, records: bytes) -> Records:
    """SUMMARY_LINES run as typed (here in sh, with this machine's awk), on `records`."""
    program = tmp_path / "xrg"
    script = "\n".join(line.replace("/dev/xrg", str(program)) for line in diskdata.SUMMARY_LINES)
    subprocess.run(["sh", "-c", script], check=True)
    data = tmp_path / "records"
    data.write_bytes(records)
    said = subprocess.run(["awk", "-f", str(program), str(data)], check=True,
                          capture_output=True, text=True).stdout
    return parse_records(said)


def records(*seqs: int, at: float = 100.0, every: float = 0.5) -> bytes:
    return "".join(f"r {n} {at + n * every:.2f} {n} .\n" for n in seqs).encode()


def test_whole_records_in_sequence_are_counted_with_the_longest_gap(tmp_path):
    lines = records(1, 2, 3) + b"r 4 112.50 4 .\n" + records(5, 6, at=110.0)
    r = summary(tmp_path, lines)
    assert (r.count, r.last, r.torn, r.first_missing, r.first_s) == (6, 6, 0, 0, 100.5)
    assert r.longest_gap_s == pytest.approx(11.0)  # 101.5 -> 112.5: the pause


def test_a_missing_record_is_named(tmp_path):
    r = summary(tmp_path, records(1, 2, 4, 5, 7))
    assert (r.count, r.last, r.first_missing) == (5, 7, 3)


def test_a_torn_record_and_zeros_where_records_were_are_counted_torn(tmp_path):
    torn = records(1, 2) + b"r 3 101.5" + b"\n" + b"\0" * 4096 + b"\n" + records(3, 4)
    r = summary(tmp_path, torn)
    assert (r.count, r.torn, r.first_missing) == (4, 2, 0)


def test_a_mixed_record_is_torn(tmp_path):
    assert summary(tmp_path, records(1) + b"r 2 101.00 7 .\n").torn == 1


def test_an_empty_file_is_no_records(tmp_path):
    assert summary(tmp_path, b"") == Records(0, 0, 0, 0, 0.0, 0.0)


@pytest.mark.parametrize("said", ["", "awk: /mnt/xenlab-records: No such file", "1 2 3"])
def test_no_summary_is_one_line(said):
    with pytest.raises(ConsoleError, match=r"^test2: xl console busybox: no records summary"):
        parse_records(said, "test2: xl console busybox")


# --- the proofs ------------------------------------------------------------------------------

KEPT = GuestData("/mnt", "77c88e81", "77c88e81", Records(284, 284, 0, 0, 28.67, 1603.89))


def test_data_kept_passes():
    guestdata.check_data_kept(KEPT, "test2")


@pytest.mark.parametrize("changed, line", [
    ({"records": Records(266, 267, 0, 3, 15.64, 1752.72)},
     "test1: expected records 1 to 267 in /mnt, none missing; saw record 3 missing "
     "(266 of 267 read back)"),
    ({"records": Records(5, 5, 1, 0, 0.5, 1.0)},
     "test1: expected every record in /mnt whole; saw 1 torn or garbled line among 5 records"),
    ({"after_md5": "00000000"},
     "test1: expected the /mnt block written before the move read back identical (md5 "
     "77c88e81); saw md5 00000000"),
    ({"records": Records(0, 0, 0, 0, 0.0, 0.0)},
     "test1: expected the records written in /mnt during the move; saw none read back"),
])
def test_data_lost_fails_naming_host_and_what(changed, line):
    import dataclasses
    with pytest.raises(LabCheckFailed) as caught:
        guestdata.check_data_kept(dataclasses.replace(KEPT, **changed), "test1")
    assert line in str(caught.value) and "\n" not in str(caught.value)


def test_no_data_read_back_fails():
    with pytest.raises(LabCheckFailed, match=r"^test1: expected the guest's data read back"):
        guestdata.check_data_kept(None, "test1")


def test_a_disk_named_sd_or_hd_in_the_config_is_xvd_in_a_pv_guest():
    assert [DomainDisk(v, "/x", True).guest_name for v in ("xvdb", "sdb", "hdc", "51728")] == [
        "xvdb", "xvdb", "xvdc", "51728"]


# --- what backs the disk, on each dom0 (the real script, on this machine) --------------------

def hosts() -> tuple[Host, Host]:
    return Host(HostSpec("test1", "local")), Host(HostSpec("test2", "local"))


def fstype_of(path: Path) -> str:
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)],
                          capture_output=True, text=True).stdout.strip()


def test_a_file_on_a_filesystem_two_hosts_cannot_share_is_refused_before_any_write(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(b"\0" * 4096)
    fstype = fstype_of(image)
    assert fstype not in ("gfs2", "ocfs2")
    with pytest.raises(LabCheckFailed) as caught:
        guestdata.check_both_may_write(hosts(), str(image), "xvdb")
    line = str(caught.value)
    assert line.startswith(f"test1: expected the guest's xvdb on a block device or a file of a "
                           "cluster filesystem (gfs2, ocfs2), which both hosts may write; saw "
                           f"{image}, a file on {fstype} (")
    assert "does not see the other's writes" in line and line.endswith("; not written")


def test_the_same_block_device_on_both_hosts_is_one_both_may_write():
    device = next((d for d in ("/dev/loop0", "/dev/loop1") if Path(d).is_block_device()), None)
    if device is None:
        pytest.skip("no block device on this machine")
    guestdata.check_both_may_write(hosts(), device, "xvdb")


def test_a_disk_missing_on_a_host_is_named():
    with pytest.raises(LabCheckFailed, match=r"^test1: expected /nonexistent/xenlab \(xvdb\) "
                                             r"present; saw no such file or device"):
        guestdata.check_both_may_write(hosts(), "/nonexistent/xenlab", "xvdb")


def test_what_backs_a_disk_is_read_not_guessed(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(b"x")
    back = guestdata.backing(hosts()[0], str(image))
    assert back.kind == "file" and re.fullmatch(r"\S+ /\S*", back.detail), back


def test_the_terminal_and_the_results_say_what_was_read_back():
    import dataclasses
    from types import SimpleNamespace

    from xenlab.plugin.outputs import data_said
    move = SimpleNamespace(data=KEPT)
    assert data_said(move) == ("; on its disk (/mnt): 284 of 284 records read back, 0 torn, "
                               "writes stalled 28.67 s at most; the block written before "
                               "identical")
    assert data_said(SimpleNamespace(data=dataclasses.replace(KEPT, after_md5="0"))).endswith(
        "the block written before CHANGED")
    assert data_said(SimpleNamespace(data=None)) == data_said(SimpleNamespace()) == ""


# --- the guest's files, as typed: their content decides, not an echo's status ----------------

def scripted(md5s: list[str], status: int = 0):
    from xenlab.live.console import GuestConsole

    from .test_migration import ScriptedGuest
    outputs = {line: (status, "") for line in diskdata.SUMMARY_LINES}
    guest = ScriptedGuest(outputs)
    answers = iter(md5s)
    send = guest.send

    def answering(data: bytes) -> int:  # each md5sum says the next of md5s
        if data.decode().startswith("md5sum /dev/xrg"):
            guest.outputs["md5sum /dev/xrg"] = (0, f"{next(answers)}  /dev/xrg\n")
        return send(data)
    guest.send = answering
    return guest, GuestConsole(guest, "test1: xl console busybox", poll_s=0)


def as_typed(lines) -> str:
    import hashlib
    return hashlib.md5("".join(re.fullmatch(r"echo '(.*)' >>?\S+", line)[1] + "\n"
                               for line in lines).encode()).hexdigest()


def test_a_file_read_back_as_typed_is_written_once_whatever_an_echo_said():
    guest, console = scripted([as_typed(diskdata.SUMMARY_LINES)], status=1)
    diskdata.write_file(console, diskdata.SUMMARY_LINES)
    assert sum(line.startswith("echo") for line in guest.sent) == len(diskdata.SUMMARY_LINES)


def test_a_file_not_as_typed_is_written_again_then_fails_in_one_line():
    good = as_typed(diskdata.SUMMARY_LINES)
    guest, console = scripted(["0" * 32, good])
    diskdata.write_file(console, diskdata.SUMMARY_LINES)
    assert sum(line.startswith("echo") for line in guest.sent) == 2 * len(diskdata.SUMMARY_LINES)
    guest, console = scripted(["0" * 32, "1" * 32])
    with pytest.raises(ConsoleError, match=r"^test1: xl console busybox: /dev/xrg not as typed "
                                           rf"\(md5 {good}\); saw '1{{32}}  /dev/xrg'$"):
        diskdata.write_file(console, diskdata.SUMMARY_LINES)


@pytest.mark.parametrize("lines", [diskdata.SUMMARY_LINES, diskdata.WRITER_LINES])
def test_the_md5_expected_is_that_of_the_file_a_shell_writes(lines, tmp_path):
    import hashlib
    target = tmp_path / "x"
    script = "\n".join(re.sub(r"/dev/x\w+", str(target), line) for line in lines)
    subprocess.run(["sh", "-c", script], check=True)
    assert hashlib.md5(target.read_bytes()).hexdigest() == as_typed(lines)
