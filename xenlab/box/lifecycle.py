"""box up / down / status / reset: the lab-in-a-box's life cycle."""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..wait import WaitTimeout, wait_for
from . import snapshot
from .host import BoxError, Progress
from .image import BaseImage, ensure_image
from .inventory import target_of, with_target, write_inventory
from .paths import PREFIX, run_dir, state_root
from .serve import is_package_server
from .seed import (IDENTITIES, LAB_NET, LAB_PREFIX, VmIdentity, ensure_keypair, identity,
                   known_hosts_line, write_seed)
from .vm import delete_network, make_data_disk, make_overlay

HOST_PACKAGES = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils",
                 "debootstrap": "debootstrap", "ssh": "openssh-client",
                 "ssh-keygen": "openssh-client", "ip": "iproute2",
                 "ping": "iputils-ping"}  # ping: the probe's own tests, on loopback
BOOT_DEADLINE_S = 300.0
RESUME_DEADLINE_S = 120.0  # resumed hosts answer in ~10 s; past this, boot them instead
READY_PROBE_S = 15.0  # one readiness probe (ssh waits for a banner beyond ConnectTimeout)
STOP_DEADLINE_S = 30.0


def client_key() -> Path:
    """The controller's SSH key into the box (kept across resets)."""
    return state_root() / "id_ed25519"


@dataclass(frozen=True)
class Status:
    supervisor: int | None
    vms: dict[str, int | None]  # name -> live QEMU pid (None when gone)
    resumed: str | None = None  # folder of the saved hosts they were resumed from; None: booted

    @property
    def running(self) -> bool:
        return self.supervisor is not None and all(self.vms.values()) and len(self.vms) == 3


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def read_status() -> Status:
    path = run_dir() / "state.json"
    try:
        state = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return Status(None, {})
    sup = state.get("supervisor")
    return Status(sup if _alive(sup) else None,
                  {name: (vm["pid"] if _alive(vm["pid"]) else None)
                   for name, vm in state.get("vms", {}).items()},
                  state.get("resumed"))


def box_processes() -> list[int]:
    """PIDs (not zombies) of any process of the box: QEMUs named PREFIX-*, supervisors, the
    package server of an upgrade, the masters of `box ssh`'s shared connections."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        is_qemu = any(a.startswith(f"{PREFIX}-".encode()) for a in argv) and argv[0].endswith(
            b"qemu-system-x86_64")
        is_supervisor = b"xenlab.box.supervisor" in argv and str(run_dir()).encode() in argv
        is_server = b"http.server" in argv and is_package_server(argv, _environ(entry))
        is_mux = _is_mux_master(argv[0])
        if (is_qemu or is_supervisor or is_server or is_mux) and _alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _is_mux_master(title: bytes, name: str = "*") -> bool:
    """A shared connection's master names its socket: "ssh: RUN_DIR/NAME.mux [mux]"."""
    return fnmatch.fnmatchcase(title.decode(errors="replace"), f"ssh: {mux_path(name)} [[]mux]")


def end_shared(name: str) -> None:
    """End `box ssh`'s shared connection to a host that goes down or reboots (a master left
    on a connection the host dropped unseen would hand the next command a dead link)."""
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if entry.name.isdigit() and _is_mux_master(title, name):
            os.kill(int(entry.name), signal.SIGKILL)
    mux_path(name).unlink(missing_ok=True)


def _environ(proc: Path) -> list[bytes]:
    try:
        return (proc / "environ").read_bytes().split(b"\0")
    except OSError:  # gone meanwhile
        return []


def ensure_host_packages(progress: Progress) -> None:
    missing = sorted({pkg for tool, pkg in HOST_PACKAGES.items() if not shutil.which(tool)})
    if not missing:
        return
    progress(f"setup: apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode:
            raise BoxError(f"{' '.join(cmd)} failed: {(proc.stderr or proc.stdout).strip()[-200:]}")


def cleanup_leftovers(progress: Progress) -> None:
    """Remove what a crashed run left: processes, namespaces, links, state."""
    for pid in box_processes():
        progress(f"cleanup: killing leftover box process {pid}")
        os.kill(pid, signal.SIGKILL)
    delete_network()
    _forget_run_files()


def _forget_run_files() -> None:
    """The state file and the shared connections' sockets (their masters were killed)."""
    (run_dir() / "state.json").unlink(missing_ok=True)
    for socket in run_dir().glob("*.mux"):
        socket.unlink(missing_ok=True)


def up(progress: Progress, boot: bool = False, target: str | None = None) -> Path:
    """Bring the box up (image built if needed); returns the inventory path.

    Resumes the saved booted hosts (see snapshot.py) when there are any for this
    image and set-up, unless boot; else boots the hosts and saves them for next time.
    target (tgt, lio) names the target software in the inventory; None keeps a running
    box's, tgt for new hosts. The hosts are the same: both are installed, neither set up.
    """
    run = run_dir()
    status = read_status()
    if status.running:
        progress("box: already running")
        return _name_target(run / "inventory.ini", target, progress)
    cleanup_leftovers(progress)
    ensure_host_packages(progress)
    image = ensure_image(progress, os.environ.get("XENLAB_MIRROR"))
    pubkey = ensure_keypair(client_key(), "xenlab-controller")
    key = snapshot.snapshot_key(image, pubkey)
    saved = None if boot else snapshot.saved(image, key)
    if saved:
        inventory = _start(image, pubkey, saved, progress)
        try:
            snapshot.resume(run, _starting_or_alive)
            wait_ready(progress, set_clock=True, deadline=RESUME_DEADLINE_S)
            return _name_target(inventory, target or "tgt", progress)
        except BoxError as exc:
            progress(f"box: resuming the saved hosts failed ({exc}); booting them instead")
            down(progress)
            snapshot.forget(image, key)
    inventory = _start(image, pubkey, None, progress)
    wait_ready(progress)
    try:
        snapshot.save(run, image, key, progress)
    except (BoxError, OSError) as exc:
        progress(f"box: could not save the booted hosts ({exc}); the next up boots them again")
    return _name_target(inventory, target or "tgt", progress)


def _name_target(inventory: Path, target: str | None, progress: Progress) -> Path:
    if target:
        text = inventory.read_text()
        if target_of(text) != target:
            progress(f"box: the inventory names {target} as the target software")
        inventory.write_text(with_target(text, target))
    return inventory


def _starting_or_alive(name: str) -> bool:
    status = read_status()
    return not status.vms or bool(status.vms.get(name))


def _start(image: BaseImage, pubkey: str, saved: Path | None, progress: Progress) -> Path:
    """Fresh run folder (overlays, seeds, inventory); start the supervisor; the inventory path."""
    run = run_dir()
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    if saved:
        snapshot.prepare(saved, run)  # overlays of the saved disks, the saved host keys
    else:
        for vm in IDENTITIES:
            make_overlay(image.disk, "raw", run / f"{vm.name}.qcow2")
    for vm in IDENTITIES:
        write_seed(vm, run, pubkey)
    make_data_disk(run / "lun.raw")
    (run / "known_hosts").write_text("".join(known_hosts_line(vm, run) + "\n" for vm in IDENTITIES))
    inventory = write_inventory(run / "inventory.ini", image, client_key(), run / "known_hosts")
    if saved:
        progress(f"box: resuming target, test1, test2 as saved after boot "
                 f"({snapshot.saved_at(saved)}; `box up --boot` boots them instead)")
    else:
        progress("box: booting target, test1, test2 (QEMU TCG)")
    with (run / "supervisor.log").open("w") as log:
        subprocess.Popen([sys.executable, "-m", "xenlab.box.supervisor", str(image.folder),
                          str(run), *([str(saved)] if saved else [])],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]))
    return inventory


# `box ssh` shares one connection per host (OpenSSH's ControlMaster): under TCG a new SSH
# connection costs ~1.7 s of key exchange on the host, a command over the shared one ~0.2 s.
# The master lives SHARED_FOR_S after its last use; `down` ends it (box_processes).
SHARED_FOR_S = 120


def mux_path(name: str) -> Path:
    return run_dir() / f"{name}.mux"


def ssh_command(vm: VmIdentity, *remote: str, shared: bool = False) -> list[str]:
    """ssh to a box host. `shared`: over the host's shared connection (made if there is
    none); not for readiness probes, which must see a new connection accepted."""
    run = run_dir()
    mux = (["-o", "ControlMaster=auto", "-o", f"ControlPath={mux_path(vm.name)}",
            "-o", f"ControlPersist={SHARED_FOR_S}"] if shared else [])
    return ["ssh", "-i", str(client_key()), "-p", str(vm.ssh_port),
            "-o", f"UserKnownHostsFile={run / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", *mux,
            "root@127.0.0.1", *remote]


def _ready_check(vm: VmIdentity, set_clock: bool = False) -> list[str]:
    # sshd answers, the lab network is configured and, on Xen hosts, xl answers
    # (xenstored is up). Not the whole boot: gettys and timers may still start.
    # A resumed host's clock stood still while it was saved; its RTC did not.
    check = "hwclock --hctosys && " if set_clock else ""
    # The lab address on eth0 (fresh) or wherever the lab put it (on the bridge, after a reboot
    # of a built lab).
    check += ("systemctl is-active --quiet networking && "
              f"ip -4 -o addr show to {LAB_NET}.0/{LAB_PREFIX} | grep -q inet")
    if vm.name != "target":
        check += " && xl info >/dev/null"
    return ssh_command(vm, check)


def wait_ready(progress: Progress, set_clock: bool = False,
               deadline: float = BOOT_DEADLINE_S, names: tuple[str, ...] = ()) -> None:
    """Return when every host (or those named) answers over SSH and is ready for the lab
    (checked at once)."""
    pending = {vm.name: vm for vm in IDENTITIES if not names or vm.name in names}

    def probe(vm: VmIdentity) -> tuple[str, subprocess.CompletedProcess | None]:
        try:
            return vm.name, subprocess.run(_ready_check(vm, set_clock), capture_output=True,
                                           text=True, timeout=READY_PROBE_S,
                                           stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return vm.name, None

    def check() -> tuple[bool, str]:
        status = read_status()
        if not status.vms:
            return False, "supervisor has not started the VMs yet"
        for name in pending:
            if not status.vms.get(name):
                raise BoxError(f"{name}: QEMU is not running; see {run_dir() / (name + '.qemu.log')}"
                               f" and {run_dir() / (name + '.log')}: {_tail(name)}")
        seen = []
        with ThreadPoolExecutor(len(pending)) as pool:
            for name, proc in pool.map(probe, list(pending.values())):
                if proc is not None and proc.returncode == 0:
                    progress(f"{name}: answers over SSH, ready")
                    del pending[name]
                else:
                    err = ((proc.stderr.strip().splitlines() if proc else
                            [f"no answer within {READY_PROBE_S:g} s"])
                           or [f"not ready (check exited {proc.returncode})"])[-1]
                    seen.append(f"{name}: {err} (console: {_tail(name)})")
        return not pending, "; ".join(seen)

    try:
        wait_for(check, timeout=deadline, interval=1.0, what="box hosts ready")
    except WaitTimeout as exc:
        raise BoxError(str(exc)) from None


def _boot_id(vm: VmIdentity) -> str | None:
    """The kernel's id of the host's current boot (new at every boot); None: no answer."""
    try:
        proc = subprocess.run(ssh_command(vm, "cat /proc/sys/kernel/random/boot_id"),
                              capture_output=True, text=True, timeout=READY_PROBE_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def reboot(progress: Progress, name: str) -> None:
    """Reboot one host from inside (`systemctl reboot`, as an operator does) and return when
    it is back and ready. QEMU restarts the machine in the same process; it boots what
    it booted first (the kernel and Xen given to QEMU)."""
    vm = identity(name)
    before = _boot_id(vm)
    if before is None:
        raise BoxError(f"{name}: does not answer over SSH; is the box up?")
    progress(f"{name}: systemctl reboot")
    end_shared(name)
    try:  # the connection may drop before ssh sees the answer: the boot id tells
        subprocess.run(ssh_command(vm, "systemctl reboot"), capture_output=True,
                       timeout=READY_PROBE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass

    def booted_again() -> tuple[bool, str]:
        if not read_status().vms.get(name):
            raise BoxError(f"{name}: QEMU exited during the reboot; see "
                           f"{run_dir() / (name + '.log')}: {_tail(name)}")
        now = _boot_id(vm)
        return (now is not None and now != before,
                f"boot id {now or 'not answering'} (before {before}); console: {_tail(name)}")

    try:
        wait_for(booted_again, timeout=BOOT_DEADLINE_S, interval=2.0, what=f"{name} rebooted")
    except WaitTimeout as exc:
        raise BoxError(str(exc)) from None
    wait_ready(progress, names=(name,))


def _tail(name: str) -> str:
    try:
        lines = (run_dir() / f"{name}.log").read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no console log"
    return lines[-1][-160:] if lines else "console log empty"


def down(progress: Progress) -> None:
    status = read_status()
    if status.supervisor:
        progress(f"box: stopping supervisor {status.supervisor}")
        os.kill(status.supervisor, signal.SIGTERM)
        try:
            wait_for(lambda: (not _alive(status.supervisor), f"pid {status.supervisor} alive"),
                     timeout=STOP_DEADLINE_S, interval=0.2, what="supervisor stop")
        except WaitTimeout as exc:
            progress(str(exc))
    for pid in box_processes():
        progress(f"box: killing {pid}")
        os.kill(pid, signal.SIGKILL)
    delete_network()
    _forget_run_files()
    progress("box: down")


def describe() -> str:
    status = read_status()
    if not status.vms and not box_processes():
        return "box: down"
    lines = [f"box: {'running' if status.running else 'partly running'} "
             f"(supervisor {status.supervisor or 'gone'}; "
             f"{'resumed as saved after boot' if status.resumed else 'booted'})"]
    for vm in IDENTITIES:
        pid = status.vms.get(vm.name)
        rss = _rss_mib(pid) if pid else 0
        lines.append(f"  {vm.name:7} {'up' if pid else 'DOWN':4} pid={pid or '-'} "
                     f"ssh=127.0.0.1:{vm.ssh_port} lab={vm.lab_ip} rss={rss} MiB "
                     f"console={run_dir() / (vm.name + '.console')}")
    lines.append(f"  inventory: {run_dir() / 'inventory.ini'}")
    return "\n".join(lines)


def _rss_mib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except FileNotFoundError:
        pass
    return 0

