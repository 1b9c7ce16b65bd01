"""Stage 9 against the running lab-in-a-box: a reboot on the other host must not pass for a
live migration.

Runs on the session's lab-in-a-box after tests/test_lab_box.py built the lab on it. The
live migrations themselves run through the suite (tests/test_lab_box.py: build and verify;
tests/test_handbuilt_box.py: a lab built by hand), each there and back.
"""
from __future__ import annotations

import secrets
import time

import pytest

from xenlab.live import guest as live_guest, probe as live_probe
from xenlab.stages import migration as m
from xenlab.checks import LabCheckFailed
from xenlab.inventory import Lab, load_lab
from xenlab.parsers.ping import PingProbe
from xenlab.remote import Host
from xenlab.adapters.toolstack import Toolstack, detect

from .boxkit import need_root

pytestmark = [pytest.mark.box, pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]
BOOT_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def box_lab(box_inventory) -> Lab:
    return load_lab(box_inventory)


@pytest.fixture(scope="module")
def toolstacks(box_lab: Lab):
    """The two Xen hosts' toolstacks, in build mode (the tests create and destroy the guest)."""
    hosts = [Host(spec, "build") for spec in box_lab.xen_hosts]
    yield {host.name: detect(host) for host in hosts}
    for host in hosts:
        host.close()


def where_guest_runs(box_lab: Lab, toolstacks: dict[str, Toolstack]
                     ) -> tuple[Toolstack, Toolstack]:
    """(the host the guest runs on, the other one); the source host if it runs nowhere."""
    name = box_lab.vars["guest_name"]
    running = [ts for ts in toolstacks.values() if ts.domain(name) is not None]
    assert len(running) <= 1, f"{name} runs on {', '.join(ts.host.name for ts in running)}"
    here = running[0] if running else toolstacks[box_lab.source.name]
    there = next(ts for ts in toolstacks.values() if ts is not here)
    return here, there


def start_guest_with_ip(box_lab: Lab, toolstack: Toolstack) -> None:
    """The article's first half of stage 9: the guest runs, eth0 has the lab address."""
    v = box_lab.vars
    m.guest_start(toolstack, v["guest_config"], v["guest_name"])
    with live_guest.guest_console(toolstack, v["guest_name"], BOOT_TIMEOUT_S) as console:
        live_guest.set_guest_ip(console, live_guest.guest_netfront_path(v["guest_netfront_module"]), v["guest_ip"],
                       int(v["lab_prefix"]))
    live_probe.check_guest_answers(toolstack.host, v["guest_ip"])


@pytest.fixture(scope="module")
def home(box_lab: Lab, toolstacks) -> Toolstack:
    """Where the guest runs, with its IP set (created on the source host if nowhere)."""
    here, _ = where_guest_runs(box_lab, toolstacks)
    start_guest_with_ip(box_lab, here)
    return here


def test_a_reboot_on_the_other_host_is_not_a_live_migration(box_lab: Lab, toolstacks, home):
    """destroy + create elsewhere: the article's proof (same IP) passes, the live proofs fail."""
    v, name = box_lab.vars, box_lab.vars["guest_name"]
    here, there = where_guest_runs(box_lab, toolstacks)
    with live_guest.guest_console(here, name) as console:
        live_guest.set_token(console, secrets.token_hex(8))
        before = live_guest.read_facts(console)
    started = time.time()
    here.destroy(name)
    m.check_absent(here, name, timeout=30)
    start_guest_with_ip(box_lab, there)
    ended = time.time()
    with live_guest.guest_console(there, name) as console:
        after = live_guest.read_facts(console)
    record = m.MigrationRecord(
        guest=name, source=here.host.name, destination=there.host.name, started=started,
        ended=ended, wall_s=round(ended - started, 3), toolstack_output="",
        downtime=live_probe.analyse_probe(PingProbe((), 0, 0), live_probe.PROBE_INTERVAL_S, started, ended),
        before=before, after=after)
    print(f"\nreboot {here.host.name} -> {there.host.name}: {before} -> {after}")

    m.check_same_ip(record)  # the article's proof cannot tell a reboot from a migration
    with pytest.raises(LabCheckFailed, match="booted again"):
        m.check_not_rebooted(record)
    with pytest.raises(LabCheckFailed, match=r"XENLAB_TOKEN=\(unset\)"):
        m.check_memory_kept(record)
    with pytest.raises(LabCheckFailed) as failed:
        m.assert_live(record, float(v["migration_downtime_max_s"]))
    assert "\n" not in str(failed.value) and str(failed.value).startswith(f"{there.host.name}: ")
