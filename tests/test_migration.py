"""Stage 9 without a lab: the probe's analysis, the xl/xm adapters and the proofs.

The adapters run on a real `Host` whose transport replays real captures: the
lab-in-a-box's (tests/replay/, tests/data/xl-*) and the article's
(tests/data/xm-*). No fake toolstack: a command nobody recorded is an error.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from xenlab.live import guest as live_guest, probe as live_probe
from xenlab.stages import migration as m, relocation, xen
from xenlab.checks import LabCheckFailed
from xenlab.live.console import ConsoleError, GuestConsole
from xenlab.errors import ParseError, ReadOnlyViolation, XenlabError
from xenlab.inventory import HostSpec
from xenlab.parsers import parse_ifconfig
from xenlab.parsers.ping import PingProbe, PingReply, parse_ping_timestamps
from xenlab.remote import Host, LocalTransport
from xenlab.adapters.toolstack import _DETECT, Xl, Xm, detect
from xenlab.wait import WaitTimeout, wait_for

from .replaykit import replayed

TESTS = Path(__file__).parent
DATA, REPLAY = TESTS / "data", TESTS / "replay"
T0 = 1_795_642_000.0


def captured(path: str) -> str:
    return (TESTS / path).read_text(encoding="utf-8")


# --- replaying real captures (tests/replaykit.py) ----------------------------------------

def ok(path: str) -> tuple[int, str, str]:
    return 0, captured(path), ""


BOX_TEST2 = {  # the box's test2 before a migration to test1 (busybox runs there)
    _DETECT: ok("replay/detect-box-test1-xl.stdout.txt"),
    "xl info": ok("data/xl-info/box-test1-xen-4.17-empty-changeset.txt"),
    "xl list": [ok("data/xl-list/box-guest-running-tab-header.txt"),
                ok("data/xl-list/box-dom0-only-tab-header.txt")],
    "xl -vvv migrate busybox 198.51.100.1":
        (0, "", captured("replay/xl-migrate-box-test2-to-test1.stderr.txt")),
    "xl destroy busybox": (0, "", ""),
    "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10 root@198.51.100.1 true":
        (0, "", ""),
}
ARTICLE_TEST1 = {  # the article's test1 (Xen 4.2.5, xend): busybox has left it
    _DETECT: (0, "xm\n", ""),
    "xm list": ok("data/xm-list/article-source-after-migration.txt"),
    "xm migrate -l busybox 172.16.31.2": (0, "", ""),  # the article shows no output
    "test -e /etc/xen/busybox || exit 66; cat -- /etc/xen/busybox":
        ok("data/guest-config/article-busybox.txt"),
    "timeout 10 bash -c 'exec 3<>/dev/tcp/172.16.31.2/8002'": (0, "", ""),
}
ARTICLE_TEST2 = {  # the article's test2 just after: busybox there, still paused
    _DETECT: (0, "xm\n", ""),
    "xm info": ok("data/xm-info/article-test2.txt"),
    "xm list": ok("data/xm-list/article-after-migration-paused.txt"),
}


# --- the adapters -----------------------------------------------------------------------

def test_xl_on_the_box_detect_info_list_migrate():
    host, sent = replayed("test2", BOX_TEST2)
    xl = detect(host)
    assert isinstance(xl, Xl) and xl.info().xen_version == "4.17.5"
    assert xl.domain("busybox").mem_mib == 192
    result = xl.migrate("busybox", "198.51.100.1", timeout=600)  # verify mode allows it
    assert result.command == "xl -vvv migrate busybox 198.51.100.1"
    assert result.stderr.splitlines()[-1] == "Migration successful."
    assert xl.domain("busybox") is None
    assert xl.console_command("busybox") == "xl console busybox"
    assert xl.relocation_check("198.51.100.1", 8002).ok


def test_create_and_destroy_need_build_mode():
    host, transport = replayed("test2", BOX_TEST2)
    with pytest.raises(ReadOnlyViolation, match="^test2: `xl create /etc/xen/busybox` writes"):
        Xl(host).create("/etc/xen/busybox")
    assert transport.sent == []  # refused before anything was sent
    build, transport = replayed("test2", BOX_TEST2, mode="build")
    Xl(build).destroy("busybox")
    assert transport.sent == ["xl destroy busybox"]


def test_xm_on_the_article_captures():
    source, sent = replayed("test1", ARTICLE_TEST1)
    xm = detect(source)
    assert isinstance(xm, Xm) and xm.console_command("busybox") == "xm console busybox"
    assert xm.migrate("busybox", "172.16.31.2", timeout=600).command == \
        "xm migrate -l busybox 172.16.31.2"
    relocation.check_relocation_path(xm, "172.16.31.2", 8002)
    m.check_absent(xm, "busybox")
    destination = Xm(replayed("test2", ARTICLE_TEST2)[0])
    assert destination.info().xen_version == "4.2.5-38.el6"
    # memory: the article's guest has 512 MiB; 998 free on test2 (stage 4's check)
    xen.check_free_memory(destination.host, destination.info(), 512)
    with pytest.raises(LabCheckFailed, match="^test1: expected busybox running .*; saw no domain"):
        m.check_destination_memory(xm, destination, "busybox")


def test_the_article_guest_is_still_paused_on_the_destination():
    destination = Xm(replayed("test2", ARTICLE_TEST2)[0])
    with pytest.raises(LabCheckFailed) as failed:
        m.check_runs_on(destination, "busybox", timeout=0)
    assert str(failed.value) == ("test2: expected busybox running or blocked (not paused); "
                                 "saw busybox in state --p--- (id 3)")


def test_no_toolstack_names_the_host_on_one_line():
    host, _ = replayed("target", {_DETECT: ok("replay/detect-box-target-no-xen.stdout.txt")})
    with pytest.raises(XenlabError) as failed:
        detect(host)
    assert str(failed.value) == ("target: no Xen toolstack answers (`xl info` / `xm info`); saw: "
                                 "ERROR:  Can't find hypervisor information in sysfs! | "
                                 "sh: 1: xm: not found")


def test_destination_memory_too_small():
    source = Xl(replayed("test2", BOX_TEST2)[0])
    small = captured("data/xl-info/box-test1-xen-4.17-empty-changeset.txt").replace(
        "free_memory            : 748", "free_memory            : 100")
    destination = Xl(replayed("test1", {"xl info": (0, small, "")})[0])
    with pytest.raises(LabCheckFailed, match=r"^test1: expected at least 192 MiB free for "
                       r"busybox \(busybox runs with it on test2\); saw 100 MiB free$"):
        m.check_destination_memory(source, destination, "busybox")


# --- the probe's analysis ------------------------------------------------------------------

def steady(start: float, end: float, every: float = 0.01, first_seq: int = 1) -> list[PingReply]:
    count = round((end - start) / every)
    return [PingReply(round(start + i * every, 6), first_seq + i, 2.0) for i in range(count)]


def test_the_gap_during_the_migration():
    replies = steady(T0, T0 + 10) + steady(T0 + 15, T0 + 20, first_seq=1501)
    probe = PingProbe(tuple(replies), transmitted=2000, received=len(replies))
    downtime = live_probe.analyse_probe(probe, 0.01, migration_start=T0 + 2, migration_end=T0 + 16)
    assert downtime.longest_gap_s == pytest.approx(5.01)
    assert (downtime.gap_start, downtime.gap_end) == (pytest.approx(T0 + 9.99), T0 + 15)
    assert (downtime.lost, downtime.replies, downtime.interval_s) == (500, 1500, 0.01)
    assert downtime.resolution_s == pytest.approx(0.01)
    assert downtime.timeline[0] == (-2.0, 2.0) and len(downtime.timeline) == 1500


def test_a_longer_gap_outside_the_migration_does_not_count():
    replies = steady(T0, T0 + 1) + steady(T0 + 30, T0 + 31) + steady(T0 + 33, T0 + 40)
    probe = PingProbe(tuple(replies), transmitted=4000, received=len(replies))
    downtime = live_probe.analyse_probe(probe, 0.01, T0 + 31, T0 + 34)
    assert downtime.longest_gap_s == pytest.approx(2.01)


@pytest.mark.parametrize("replies, gap", [
    (steady(T0, T0 + 5), (T0 + 4.99, None)),  # silent after the migration
    (steady(T0 + 30, T0 + 31), (None, T0 + 30)),  # silent until after it
    ([], (None, None)),
])
def test_no_reply_on_one_side_is_an_infinite_gap(replies, gap):
    downtime = live_probe.analyse_probe(PingProbe(tuple(replies), 100, len(replies)), 0.01, T0 + 10, T0 + 20)
    assert downtime.longest_gap_s == float("inf")
    assert (downtime.gap_start, downtime.gap_end) == pytest.approx(gap)


def test_the_real_coarse_probe_of_a_box_migration():
    probe = parse_ping_timestamps(captured("data/ping-probe/box-migration-7s-gap-interval-0.2.txt"))
    # the box's xl migrate of that run took 46.8 s and ended just after the guest answered again
    downtime = live_probe.analyse_probe(probe, 0.2, migration_start=1795642758.9, migration_end=1795642805.7)
    assert (downtime.gap_start, downtime.gap_end) == (1795642797.963385, 1795642805.109912)
    assert downtime.longest_gap_s == pytest.approx(7.146527)
    assert (downtime.lost, downtime.replies) == (34, 189)


def test_ping_output_cut_short_or_without_timestamps():
    text = captured("data/ping-probe/box-200-replies-with-pattern.txt")
    with pytest.raises(ParseError, match="no 'packets transmitted' line"):
        parse_ping_timestamps(text.split("\n---")[0])
    with pytest.raises(ParseError, match=r"no -D timestamp"):
        parse_ping_timestamps(captured("data/ping-probe/unknown-format-no-timestamps.txt"))
    dup = text.replace("icmp_seq=3 ttl=64 time=2.27 ms", "icmp_seq=2 ttl=64 time=2.27 ms (DUP!)")
    assert len(parse_ping_timestamps(dup).replies) == 199


@pytest.mark.skipif(shutil.which("ping") is None, reason="no ping here (make setup installs it)")
def test_a_probe_cut_by_its_deadline_is_an_error():
    # A real ping on loopback that outlives its bound before stop(): the end of a
    # migration would go unobserved, so the probe's figures are refused.
    host = Host(HostSpec("target", "localhost"), transport=LocalTransport())
    probe = live_probe.BackgroundPing(host, "127.0.0.1", max_s=1, interval_s=0.2)
    probe.start()
    probe._thread.join(10)
    with pytest.raises(XenlabError, match=r"^target: `ping -D -i 0.2 -W 1 -p [0-9a-f]{16} "
                                          r"127.0.0.1` did not finish within 1s"):
        probe.stop()
    running = live_probe.BackgroundPing(host, "127.0.0.1", max_s=30, interval_s=0.2)
    running.start()
    assert running.stop().received >= 1


class NetnsTransport(LocalTransport):
    """Commands inside a network namespace of our own (lab addresses stay out of the root one)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def exec(self, command, stdin, timeout):
        return super().exec(f"ip netns exec {shlex.quote(self.ns)} sh -c {shlex.quote(command)}",
                            stdin, timeout)


@pytest.fixture
def netns():
    if os.geteuid() != 0 or shutil.which("ping") is None or shutil.which("ip") is None:
        pytest.skip("needs root, ip and ping")
    ns = f"xltest-probe-{os.getpid()}"
    subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in ("ip link add xl0 type veth peer name xl1", "ip link set lo up",
                    "ip addr add 198.51.100.1/24 dev xl0", "ip link set xl0 up",
                    "ip link set xl1 up"):
            subprocess.run(["ip", "netns", "exec", ns, *cmd.split()], check=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def test_the_probe_keeps_running_through_icmp_errors(netns):
    # CI: the neighbour entry for the guest failed during the gap, ping got
    # "Destination Host Unreachable" and, run with -w, exited: the probe missed
    # the end of the migration. Here the address never answers at all.
    host = Host(HostSpec("target", "localhost"), transport=NetnsTransport(netns))
    probe = live_probe.BackgroundPing(host, "198.51.100.77", max_s=60, interval_s=0.2)
    probe.start()
    try:
        wait_for(lambda: (probe._thread.is_alive() is False, "running"), timeout=6, interval=0.5,
                 what="the probe ending by itself")
    except WaitTimeout:
        pass  # still running after ARP failed and errors came: as wanted
    result = probe.stop()  # raises if it ended by itself
    assert result.transmitted > 10 and result.received == 0


# --- the guest's console ------------------------------------------------------------------

class ScriptedGuest:
    """A PTY whose guest shell answers each command with a recorded output (from the box)."""

    def __init__(self, outputs: dict[str, tuple[int, str]], noise: str = "") -> None:
        self.outputs, self.pending, self.sent = outputs, noise + "\r\n/ # ", []
        self.gone = False  # xl console exited: the domain left this host
        self.late = {}  # command -> what the shell prints just before echoing it

    def send(self, data: bytes) -> int:
        if self.gone:
            raise OSError("Socket is closed")
        line = data.decode()
        self.sent.append(line)
        command = line.rstrip("\r").removesuffix('; echo XL""END$?')
        if command:
            status, output = self.outputs.get(command, (127, f"/bin/sh: {command}: not found\n"))
            late = self.late.pop(command, "")
            self.pending += (f"{late}{line}\n{output}XLEND{status}\n/ # ").replace("\n", "\r\n")
        return len(data)

    def recv_ready(self) -> bool:
        return bool(self.pending)

    def recv(self, n: int) -> bytes:
        data, self.pending = self.pending[:n], self.pending[n:]
        return data.encode()

    def exit_status_ready(self) -> bool:
        return self.gone

    def close(self) -> None:
        pass


KERNEL = "[  224.485734] Setting capacity to 2097152\n"  # seen on the box after a migration


def test_facts_read_through_the_console_despite_kernel_lines():
    guest = ScriptedGuest({
        "cat /proc/uptime": (0, KERNEL + "568.27 529.90\n"),
        "ifconfig eth0 2>/dev/null || true":
            (0, captured("data/ifconfig/box-guest-busybox-trailing-blank.txt")),
        'echo "XENLAB_TOKEN=[$XENLAB_TOKEN]"': (0, "XENLAB_TOKEN=[abc123]\n"),
    }, noise=KERNEL.rstrip())
    console = GuestConsole(guest, "test2: xl console busybox", poll_s=0)
    console.wait_prompt(timeout=1)
    facts = live_guest.read_facts(console)
    assert facts == live_guest.GuestFacts(568.27, "00:16:3e:63:6e:e8", "198.51.100.4", "abc123")


def test_a_late_prompt_before_the_echo_is_not_taken_for_output():
    # CI, after a migration: the line was typed before the shell read it (a second
    # Enter's prompt was still to come), so the tty echoed it at once and the shell
    # again after its prompt; the first ifconfig "line" was that second echo.
    guest = ScriptedGuest({
        "cat /proc/uptime": (0, "568.27 529.90\n"),
        "ifconfig eth0 2>/dev/null || true":
            (0, captured("data/ifconfig/box-guest-busybox-trailing-blank.txt")),
        'echo "XENLAB_TOKEN=[$XENLAB_TOKEN]"': (0, "XENLAB_TOKEN=[abc123]\n"),
    })
    console = GuestConsole(guest, "test2: xl console busybox", poll_s=0)
    console.wait_prompt(timeout=1)
    guest.late["ifconfig eth0 2>/dev/null || true"] = (
        'ifconfig eth0 2>/dev/null || true; echo XL""END$?\n/ # ')  # tty echo, late prompt
    facts = live_guest.read_facts(console)
    assert facts == live_guest.GuestFacts(568.27, "00:16:3e:63:6e:e8", "198.51.100.4", "abc123")


def test_a_shell_that_does_not_echo_fails_on_one_line():
    guest = ScriptedGuest({"true": (0, "")})
    guest.send = lambda data: (guest.sent.append(data.decode()),  # type: ignore[method-assign]
                               setattr(guest, "pending", guest.pending + "XLEND0\r\n/ # "))
    console = GuestConsole(guest, "test1: xl console busybox", poll_s=0)
    with pytest.raises(ConsoleError, match=r"^test1: xl console busybox: the shell did not echo `true`"):
        console.run("true", timeout=1)


def test_set_guest_ip_tolerates_a_loaded_module():
    module = live_guest.guest_netfront_path("/lib/modules/6.1.0-50-amd64/kernel/drivers/net/xen-netfront.ko")
    assert module == "/lib/modules/xen-netfront.ko"
    guest = ScriptedGuest({
        f"insmod {module}": (17, f"insmod: can't insert '{module}': File exists\n"),
        "ifconfig eth0 198.51.100.4 netmask 255.255.255.0 up": (0, ""),
    })
    console = GuestConsole(guest, "test1: xl console busybox", poll_s=0)
    live_guest.set_guest_ip(console, module, "198.51.100.4", 24)
    assert guest.sent[-1].startswith("ifconfig eth0 198.51.100.4 netmask 255.255.255.0 up;")


def test_a_console_whose_domain_left_fails_on_one_line_and_hangs_up_quietly():
    guest = ScriptedGuest({})
    console = GuestConsole(guest, "test1: xl console busybox", poll_s=0)
    console.wait_prompt(timeout=1)
    guest.gone = True  # the domain migrated away: xl console exited, the channel closed
    with pytest.raises(ConsoleError, match=r"^test1: xl console busybox: console closed before "
                                           r"`cat /proc/uptime` \(Socket is closed\)$"):
        live_guest.read_facts(console)
    live_guest.hang_up(console)  # Ctrl-] on a closed channel: no second error


# --- the proofs ---------------------------------------------------------------------------

def facts(uptime: float, ifconfig: str = "data/ifconfig/box-guest-busybox-trailing-blank.txt",
          token: str = "f0fd9c65b3ae0761") -> live_guest.GuestFacts:
    (eth0,) = parse_ifconfig(captured(ifconfig))
    return live_guest.GuestFacts(uptime, eth0.mac, eth0.ipv4, token)


LIVE = m.MigrationRecord(  # the box's 0.01 s run, test2 -> test1
    guest="busybox", source="test2", destination="test1", started=T0, ended=T0 + 42.3,
    wall_s=42.333, toolstack_output="Migration successful.\n",
    downtime=live_probe.Downtime(7.977261, T0 + 30, T0 + 37.977261, 485, 3031, 0.01, 0.010902, ()),
    before=facts(980.45), after=facts(1027.69))


def test_a_live_migration_passes_every_proof():
    m.assert_live(LIVE, downtime_max_s=10)


@pytest.mark.parametrize("change, check, message", [
    (dict(after=facts(25.89)), m.check_not_rebooted,
     "test1: expected busybox up for more than 980.45 s (its uptime on test2); "
     "saw uptime 25.89 s: it booted again"),
    (dict(after=facts(1027.69, token="")), m.check_memory_kept,
     "test1: expected XENLAB_TOKEN=f0fd9c65b3ae0761 still in the guest's shell; "
     "saw XENLAB_TOKEN=(unset)"),
    (dict(downtime=replace(LIVE.downtime, gap_end=None, longest_gap_s=float("inf"))),
     m.check_answered_after,
     "test1: expected busybox answering ping after the migration; saw 3031 replies, none after it"),
])
def test_each_proof_fails_on_one_line(change, check, message):
    with pytest.raises(LabCheckFailed) as failed:
        check(replace(LIVE, **change))
    assert str(failed.value) == message


def test_downtime_over_the_limit():
    with pytest.raises(LabCheckFailed, match=r"^test1: expected a network gap of at most 5 s "
                       r"during the migration; saw 7.98 s without a reply \(485 probes"):
        m.check_downtime(LIVE, 5)


def test_the_articles_own_ifconfig_shows_another_mac_after_its_migration():
    """Same IP (the article's proof), but a new MAC: a new vif, not the same guest's."""
    record = replace(LIVE, before=facts(1, "data/ifconfig/article-guest-before-migration.txt"),
                     after=facts(2, "data/ifconfig/article-guest-after-migration.txt"))
    m.check_same_ip(record)
    with pytest.raises(LabCheckFailed, match="expected busybox with MAC 00:16:3e:28:bb:f6, as on "
                                             "test2; saw MAC 00:16:3e:1d:38:69"):
        m.check_same_mac(record)


def test_assert_live_names_every_failed_proof_on_one_line():
    reboot = replace(LIVE, after=facts(25.89, token=""))
    with pytest.raises(LabCheckFailed) as failed:
        m.assert_live(reboot, downtime_max_s=5)
    message = str(failed.value)
    assert "\n" not in message and message.count(" | ") == 2  # uptime, token, downtime


def test_a_load_over_a_quarter_of_the_guests_memory_a_second_is_refused_before_typing():
    guest = ScriptedGuest({})
    console = GuestConsole(guest, "test1: xl console busybox", poll_s=0)
    with pytest.raises(ConsoleError, match=r"^test1: xl console busybox: a load of 64 MiB/s "
                                           r"rewrites more than a quarter of the guest's 192 "
                                           r"MiB each second; at most 48 MiB/s$"):
        live_guest.start_load(console, 64, 192, 120)
    assert guest.sent == []
    # every line typed fits the console's 80 columns with the prompt and the framing
    assert max(len(line) for line in (*live_guest.LOAD_LINES, *live_guest.LOAD_STOP)) <= 58
