"""The booted hosts, saved: a warm `box up` resumes them instead of booting them.

Booting Xen and dom0 under TCG, three VMs on two cores, takes about 65 s; loading
the hosts' saved state until they answer takes about 5 s. The first `box up` (after an image build,
or after anything that shapes the VMs changed) boots the hosts, waits until they
answer, then saves each VM: paused, its RAM and devices go to a file by QEMU's own
migration to a file, its disk overlay, SSH host keys and console log are copied
beside it; then the hosts run on. Later ups start each QEMU with `-incoming` from
that file over a fresh overlay of the saved disk, continue it, and set each host's
clock from its emulated RTC (which follows the real time; the guest's own clock
stood still while saved). The hosts are fresh every time: the same moment after
boot, nothing of the lab configured.

A saved state is used only for the same image, QEMU version, QEMU command lines,
seed files and controller key (all in its key); `box up --boot` boots and saves anew.
"""
from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..wait import WaitTimeout, wait_for
from .host import BoxError, Progress, sh
from .image import BaseImage
from .seed import IDENTITIES, VmIdentity, seed_files
from .vm import make_overlay, qemu_command

FORMAT = 1  # bump when what is saved, or how, changes
SAVE_DEADLINE_S = 120.0
LOAD_DEADLINE_S = 90.0
QMP_TIMEOUT_S = 30.0
# The default migration bandwidth cap (128 MiB/s) is meant for networks; this is a file.
BANDWIDTH = 8 << 30


def snapshot_dir(image: BaseImage, key: str) -> Path:
    """Saved hosts live with their image (a temporary image cache takes its own along);
    one folder per key, so boxes with their own state (XENLAB_STATE) do not evict each other."""
    return image.folder / "booted" / key


class Qmp:
    """A QMP connection to one VM's QEMU (its -qmp socket)."""

    def __init__(self, name: str, path: Path, timeout: float = QMP_TIMEOUT_S) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
            self.stream = self.sock.makefile("rw")
            self._read()  # the greeting
        except (OSError, ValueError) as exc:
            self.sock.close()
            raise BoxError(f"{name}: QEMU monitor {path}: {exc}") from None
        self("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        line = self.stream.readline()
        if not line:
            raise BoxError(f"{self.name}: QEMU closed its monitor (did it exit?)")
        return json.loads(line)

    def __call__(self, command: str, **arguments: Any) -> Any:
        try:
            self.stream.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
            self.stream.flush()
            while True:  # events may come before the answer
                message = self._read()
                if "return" in message:
                    return message["return"]
                if "error" in message:
                    raise BoxError(f"{self.name}: QEMU {command}: {message['error'].get('desc')}")
        except OSError as exc:
            raise BoxError(f"{self.name}: QEMU {command}: {exc}") from None

    def __enter__(self) -> Qmp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def snapshot_key(image: BaseImage, client_pubkey: str) -> str:
    """What a saved state depends on; a different key means boot and save anew."""
    version = sh(["qemu-system-x86_64", "--version"]).stdout.splitlines()[0]
    vms = {vm.name: {"qemu": qemu_command(vm, image, Path("/RUN"), 3),
                     "seed": seed_files(vm, client_pubkey, "", "")} for vm in IDENTITIES}
    text = json.dumps({"format": FORMAT, "image": str(image.folder), "qemu": version, "vms": vms},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _kept(vm: VmIdentity) -> tuple[str, ...]:
    """Run-folder files copied as they are: into the saved folder, and back at each resume."""
    return (f"{vm.name}.hostkey", f"{vm.name}.hostkey.pub", f"{vm.name}.log")


def _files(vm: VmIdentity) -> tuple[str, ...]:
    """Everything saved of one VM: its machine state, its disk overlay, and the kept files."""
    return (f"{vm.name}.state", f"{vm.name}.qcow2", *_kept(vm))


def saved(image: BaseImage, key: str) -> Path | None:
    """The folder of the saved hosts when it matches key and is complete, else None."""
    folder = snapshot_dir(image, key)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    complete = all((folder / name).exists() for vm in IDENTITIES for name in _files(vm))
    return folder if meta.get("key") == key and complete else None


def saved_at(folder: Path) -> str:
    try:
        return json.loads((folder / "meta.json").read_text()).get("saved", "?")
    except (OSError, json.JSONDecodeError):
        return "?"


def forget(image: BaseImage, key: str) -> None:
    shutil.rmtree(snapshot_dir(image, key), ignore_errors=True)


def _each(action: Callable[[VmIdentity], None]) -> None:
    """Run action for every VM at once; the first failure is raised."""
    with ThreadPoolExecutor(len(IDENTITIES)) as pool:
        for future in [pool.submit(action, vm) for vm in IDENTITIES]:
            future.result()


def save(run: Path, image: BaseImage, key: str, progress: Progress) -> Path:
    """Save the running hosts (see the module's text); they run on afterwards."""
    folder = snapshot_dir(image, key)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    def save_one(vm: VmIdentity) -> None:
        with Qmp(vm.name, run / f"{vm.name}.qmp") as qmp:
            qmp("stop")
            try:
                qmp("migrate-set-parameters", **{"max-bandwidth": BANDWIDTH})
                target = shlex.quote(str(partial / f"{vm.name}.state"))
                qmp("migrate", uri=f"exec:cat > {target}")

                def done() -> tuple[bool, str]:
                    status = qmp("query-migrate").get("status", "none")
                    if status in ("failed", "cancelled"):
                        raise BoxError(f"{vm.name}: saving the VM {status}")
                    return status == "completed", f"migration {status}"
                try:
                    wait_for(done, timeout=SAVE_DEADLINE_S, interval=0.1, what=f"{vm.name}: save")
                except WaitTimeout as exc:
                    raise BoxError(str(exc)) from None
                # The migration flushed the overlay and stopped writing it: copy it now.
                for name in (f"{vm.name}.qcow2", *_kept(vm)):
                    shutil.copyfile(run / name, partial / name)
            finally:
                qmp("cont")

    started = time.monotonic()
    try:
        _each(save_one)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / "meta.json").write_text(json.dumps(
        {"key": key, "saved": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    size = sum(p.stat().st_size for p in folder.iterdir()) >> 20
    progress(f"box: saved the booted hosts in {time.monotonic() - started:.1f} s ({size} MiB, "
             f"{folder}); the next `box up` resumes them")
    return folder


def prepare(folder: Path, run: Path) -> None:
    """Fresh overlays over the saved disks; host keys and console logs as saved."""
    for vm in IDENTITIES:
        make_overlay(folder / f"{vm.name}.qcow2", "qcow2", run / f"{vm.name}.qcow2")
        for name in _kept(vm):
            shutil.copyfile(folder / name, run / name)


def resume(run: Path, alive: Callable[[str], bool]) -> None:
    """Wait until every QEMU has loaded its saved state, then let it run."""
    def resume_one(vm: VmIdentity) -> None:
        def loaded() -> tuple[bool, str]:
            if not alive(vm.name):
                raise BoxError(f"{vm.name}: QEMU exited while loading its saved state; "
                               f"see {run / (vm.name + '.qemu.log')}")
            try:
                with Qmp(vm.name, run / f"{vm.name}.qmp", timeout=5) as qmp:
                    status = qmp("query-status")["status"]
                    if status == "paused":
                        qmp("cont")
                        return True, "running"
                    return status == "running", status
            except BoxError as exc:
                return False, str(exc)
        try:
            wait_for(loaded, timeout=LOAD_DEADLINE_S, interval=0.1, what=f"{vm.name}: load")
        except WaitTimeout as exc:
            raise BoxError(str(exc)) from None
    _each(resume_one)
