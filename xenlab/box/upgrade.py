"""box upgrade NAME --to RELEASE: one box host upgraded in place, as an operator upgrades a
Xen server, and rebooted into what the upgrade installed.

1. Refuse while the host runs a guest: the upgrade ends with a reboot (migrate it away first).
2. Serve the release's package source (packages.py, serve.py) on the lab network.
3. Inside the host: the release in /etc/apt/sources.list, `apt-get full-upgrade`, the
   release's Xen (`xen-system-amd64`, which Debian's full-upgrade does not move to a new Xen
   version by itself), and update-grub's menu, with the Xen and kernel arguments the host runs
   with now (read from `xl info` and /proc/cmdline), so that it keeps its console and memory.
4. Power it off and start it again from its own disk, through GRUB (bootdisk.py): from now on
   every boot of it, `box reboot` included, boots the Xen and kernel on its disk.

What the host's apt prints goes to RUN/NAME.upgrade.log; progress shows each step.
"""
from __future__ import annotations

import shlex
import subprocess
import time
from pathlib import Path

from ..parsers.xen import parse_domain_list, parse_xen_info
from ..wait import WaitTimeout, wait_for
from .bootdisk import boot_disk
from .host import BoxError, Progress
from .image import ensure_image
from .packages import RELEASES, package_source
from .paths import run_dir
from .seed import VmIdentity, identity
from .serve import serving

FROM_RELEASE = "bookworm"
APT_LIST = "/etc/apt/xenlab-upgrade.list"
# apt reads only the box's source: the mirror in sources.list is out of the VMs' reach.
APT_SOURCE = (f"-o Dir::Etc::SourceList={APT_LIST} -o Dir::Etc::SourceParts=/dev/null "
              "-o Acquire::Retries=3")
# Keep the host's configuration files where the package's changed too (as a careful operator
# answers dpkg's questions). --force-unsafe-io: dpkg does not fsync each unpacked file, which
# costs minutes under TCG; the host's disk is a throwaway overlay of the box.
APT_INSTALL = ("DEBIAN_FRONTEND=noninteractive apt-get " + APT_SOURCE + " -y -q "
               "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
               "-o Dpkg::Options::=--force-unsafe-io")
STEP_TIMEOUT_S = 3600.0  # apt under TCG: minutes per step, not hours
SHORT_TIMEOUT_S = 60.0
PROGRESS_EVERY_S = 30.0
POWEROFF_DEADLINE_S = 180.0
BOOT_DEADLINE_S = 420.0  # GRUB reads Xen, kernel and initramfs through the BIOS under TCG
# Arguments GRUB's own menu entries set: not copied from the running kernel's.
GRUB_OWN_ARGS = ("BOOT_IMAGE=", "root=", "ro", "rw", "placeholder")
# /etc/default/grub as Debian's GRUB package writes it, for a host that has none (the box's
# hosts had no GRUB): without GRUB_DISTRIBUTOR the default entry Debian's Xen package names
# ("Debian GNU/Linux, with Xen hypervisor") matches no entry, and GRUB boots Linux without Xen.
DEFAULT_GRUB = ('GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=Debian\n'
                'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n')


def grub_settings(linux_cmdline: str, xen_cmdline: str) -> str:
    """/etc/default/grub.d/xenlab.cfg: boot at once on the serial console, with the arguments
    the host runs with now (those GRUB's entries set themselves left out)."""
    def keep(cmdline: str) -> str:
        words = cmdline.split()
        if words and "/" in words[0] and "=" not in words[0]:
            words = words[1:]  # a loader's own path before the arguments
        return " ".join(w for w in words
                        if not any(w == a or (a.endswith("=") and w.startswith(a))
                                   for a in GRUB_OWN_ARGS))
    return ("# Written by `python -m xenlab box upgrade`: boot at once, on the serial console,\n"
            "# with the Xen and kernel arguments this host ran with before the upgrade.\n"
            "GRUB_TIMEOUT=0\n"
            "GRUB_TERMINAL=serial\n"
            "GRUB_SERIAL_COMMAND=\"serial --unit=0 --speed=115200\"\n"
            "GRUB_DISABLE_OS_PROBER=true\n"
            f"GRUB_CMDLINE_XEN={shlex.quote(keep(xen_cmdline))}\n"
            f"GRUB_CMDLINE_LINUX={shlex.quote(keep(linux_cmdline))}\n")


def upgrade(progress: Progress, name: str, release: str) -> dict[str, float]:
    """Upgrade host name to release and boot it from its disk; returns the step timings (s)."""
    from .lifecycle import read_status, ssh_command
    vm = identity(name)
    if release not in RELEASES:
        raise BoxError(f"no upgrade to {release!r}: xenlab knows {', '.join(RELEASES)}")
    if not read_status().vms.get(name):
        raise BoxError(f"{name}: not running; start the box first (`python -m xenlab box up`)")
    timings: dict[str, float] = {}
    log = run_dir() / f"{name}.upgrade.log"

    def run(step: str, command: str, timeout: float = SHORT_TIMEOUT_S) -> str:
        start = time.monotonic()
        with log.open("a") as out:
            out.write(f"\n### {step}: {command}\n")
            out.flush()
            offset = out.tell()
            proc = subprocess.Popen(ssh_command(vm, command), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                while True:
                    try:
                        proc.wait(timeout=PROGRESS_EVERY_S)
                        break
                    except subprocess.TimeoutExpired:
                        if time.monotonic() - start > timeout:  # killed below
                            raise BoxError(f"{name}: {step}: no end within {timeout:.0f} s; "
                                           f"see {log}") from None
                        progress(f"{name}: {step}: {apt_progress(_read_from(log, offset))}")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        timings[step] = timings.get(step, 0.0) + time.monotonic() - start
        output = _read_from(log, offset)
        if proc.returncode:
            tail = output.strip().splitlines()
            raise BoxError(f"{name}: {step} exited {proc.returncode}: "
                           f"{tail[-1] if tail else 'no output'} (see {log})")
        return output

    domains = [d.name for d in parse_domain_list(run("guests", "xl list"))
               if d.name != "Domain-0"]
    if domains:
        raise BoxError(f"{name}: runs {', '.join(domains)}: migrate it to the other Xen host "
                       "first (the upgrade ends with a reboot)")
    before = parse_xen_info(run("xl info", "xl info"))  # release: dom0's kernel
    image = ensure_image(progress)
    source = package_source(image, release, progress)
    disk = boot_disk(progress)
    settings = grub_settings(run("kernel arguments", "cat /proc/cmdline"),
                             before.xen_commandline or "")
    progress(f"{name}: upgrading {FROM_RELEASE} -> {release} (Xen {before.xen_version}, kernel "
             f"{before.release}); apt's output in {log}")
    with serving(source) as url:
        run("sources", f"sed -i 's/\\b{FROM_RELEASE}\\b/{release}/g' /etc/apt/sources.list && "
                       f"echo {shlex.quote(f'deb [trusted=yes] {url} ./')} > {APT_LIST}")
        progress(f"{name}: apt-get update (the box's {release} source)")
        run("apt-get update", f"apt-get {APT_SOURCE} -q update", STEP_TIMEOUT_S)
        progress(f"{name}: apt-get full-upgrade (minutes under TCG)")
        run("apt-get full-upgrade", f"{APT_INSTALL} full-upgrade", STEP_TIMEOUT_S)
        progress(f"{name}: apt-get install {' '.join(RELEASES[release])}")
        run("install Xen", f"{APT_INSTALL} install {' '.join(RELEASES[release])}",
            STEP_TIMEOUT_S)
    progress(f"{name}: update-grub")
    run("update-grub", "mkdir -p /etc/default/grub.d /boot/grub && "
                       f"{{ test -e /etc/default/grub || printf %s {shlex.quote(DEFAULT_GRUB)} "
                       "> /etc/default/grub; } && "
                       f"printf %s {shlex.quote(settings)} > /etc/default/grub.d/xenlab.cfg && "
                       "update-grub", STEP_TIMEOUT_S)
    progress(f"{name}: power off, then boot from its own disk (GRUB)")
    start = time.monotonic()
    boot_from_disk(progress, vm, disk)
    timings["reboot into the new Xen"] = time.monotonic() - start
    after = parse_xen_info(run("xl info after", "xl info"))
    progress(f"{name}: now Xen {after.xen_version}, kernel {after.release}")
    return timings


def boot_from_disk(progress: Progress, vm: VmIdentity, disk: Path) -> None:
    """Power the host off and have the supervisor start it again, booting from disk; return
    when it answers ready."""
    from .lifecycle import READY_PROBE_S, end_shared, read_status, ssh_command, wait_ready, _tail
    run = run_dir()
    end_shared(vm.name)
    old = read_status().vms.get(vm.name)
    (run / f"{vm.name}.bootdisk").write_text(f"{disk}\n")
    (run / f"{vm.name}.restart").touch()
    try:  # the connection drops as the host goes down
        subprocess.run(ssh_command(vm, "systemctl poweroff"), capture_output=True,
                       timeout=READY_PROBE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass

    def started_again() -> tuple[bool, str]:
        pid = read_status().vms.get(vm.name)
        marker = (run / f"{vm.name}.restart").exists()
        return (bool(pid) and pid != old and not marker,
                f"QEMU pid {pid or 'none'} (was {old}); console: {_tail(vm.name)}")

    try:
        wait_for(started_again, timeout=POWEROFF_DEADLINE_S, interval=1.0,
                 what=f"{vm.name} powered off and started again")
    except WaitTimeout as exc:
        raise BoxError(str(exc)) from None
    wait_ready(progress, names=(vm.name,), deadline=BOOT_DEADLINE_S)


def apt_progress(output: str) -> str:
    """How far apt-get got, from its output so far: packages unpacked and set up, and its
    last line."""
    lines = output.splitlines()
    unpacked = sum(1 for line in lines if line.startswith("Unpacking "))
    set_up = sum(1 for line in lines if line.startswith("Setting up "))
    last = lines[-1].strip()[:100] if lines else "no output yet"
    return f"{unpacked} unpacked, {set_up} set up; {last}"


def _read_from(path: Path, offset: int) -> str:
    with path.open(errors="replace") as f:
        f.seek(offset)
        return f.read()

