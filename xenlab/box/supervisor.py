"""The box's supervisor: parent of the QEMU processes, reaps them, stops them by PID.

`box up` starts it detached (`python -m xenlab.box.supervisor IMAGE_DIR RUN [SAVED]`) and
returns once the hosts answer; it lives as long as the box. On SIGTERM it
stops every VM by PID (SIGTERM, then SIGKILL after a deadline), deletes the
network namespace and removes state.json.

A host is started again when its QEMU exits while RUN/NAME.restart exists (the marker is
removed): `box upgrade` powers a host off that way to boot it from now on from its own disk,
through the boot disk named in RUN/NAME.bootdisk (see bootdisk.py).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .image import BaseImage
from .paths import run_dir, tap_name
from .seed import IDENTITIES, VmIdentity
from .vm import create_network, delete_network, open_tap, qemu_command

STOP_GRACE_S = 10.0


class Stop(Exception):
    pass


def _raise_stop(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Stop()


def stop_process(proc: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def start(vm: VmIdentity, image: BaseImage, run: Path, resume: Path | None) -> subprocess.Popen:
    """Start one host's QEMU: booted by QEMU, resumed from a saved state, or (RUN/NAME.bootdisk)
    booted from its own disk through GRUB."""
    marker = run / f"{vm.name}.bootdisk"
    disk = Path(marker.read_text().strip()) if marker.exists() else None
    fd = open_tap(tap_name(vm.name))
    try:
        with (run / f"{vm.name}.qemu.log").open("a") as log:
            return subprocess.Popen(
                qemu_command(vm, image, run, fd, resume / f"{vm.name}.state" if resume else None,
                             boot_disk=disk),
                pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    finally:
        os.close(fd)


def write_state(run: Path, procs: dict[str, subprocess.Popen], image: BaseImage,
                resume: Path | None, started: float) -> None:
    state = {"supervisor": os.getpid(), "started": started, "image": str(image.folder),
             "resumed": str(resume) if resume else None,
             "vms": {vm.name: {"pid": procs[vm.name].pid, "ssh_port": vm.ssh_port}
                     for vm in IDENTITIES if vm.name in procs}}
    state_file = run / "state.json"
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.rename(state_file)


def main(image_dir: str, run_folder: str, saved: str | None = None) -> int:
    """Start the VMs (from the saved hosts in folder `saved` when given) and wait on them."""
    run = Path(run_folder)
    resume = Path(saved) if saved else None
    assert run == run_dir(), f"supervisor for {run} started with XENLAB_STATE for {run_dir()}"
    image = BaseImage(Path(image_dir))
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    procs: dict[str, subprocess.Popen] = {}
    state_file = run / "state.json"
    try:
        create_network()
        started = time.time()
        for vm in IDENTITIES:
            procs[vm.name] = start(vm, image, run, resume)
        write_state(run, procs, image, resume, started)
        while any(p.poll() is None for p in procs.values()):
            pid, status = os.wait()
            for vm in IDENTITIES:
                p = procs.get(vm.name)
                if p is None or p.pid != pid:
                    continue
                p.returncode = os.waitstatus_to_exitcode(status)
                print(f"{vm.name}: QEMU pid {pid} exited with {p.returncode}", flush=True)
                restart = run / f"{vm.name}.restart"
                if restart.exists():
                    restart.unlink()
                    procs[vm.name] = start(vm, image, run, None)
                    print(f"{vm.name}: started again, QEMU pid {procs[vm.name].pid}", flush=True)
                    write_state(run, procs, image, resume, started)
    except Stop:
        print("stopping", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for p in procs.values():
            stop_process(p)
        delete_network()
        state_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
