"""The package source, served to the box's hosts on the lab network while an upgrade needs it.

The VMs have no route to the package mirror, and this machine none to the lab network (see
vm.py). The server runs inside the box's network namespace, on an address of the lab network
given to the namespace's bridge (SERVER_IP), and serves one folder read-only over HTTP. It is
started for one upgrade and killed by PID after it; `box down` and a crashed run's cleanup find
a leftover one with the box's other processes (is_package_server).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from ..wait import WaitTimeout, wait_for
from .host import BoxError, sh
from .paths import BRIDGE, NETNS, PREFIX, cache_dir, run_dir
from .seed import LAB_NET, LAB_PREFIX

SERVER_IP = f"{LAB_NET}.254"
SERVER_PORT = 8080
SERVER_MARK = "XENLAB_BOX_SERVER"  # in the server's environment, with the box's prefix
START_DEADLINE_S = 20.0


def server_command(folder: Path) -> list[str]:
    # `ip netns exec` execs the server in the namespace: the PID Popen returns is the server's.
    return ["ip", "netns", "exec", NETNS, sys.executable, "-m", "http.server",
            "--bind", SERVER_IP, "--directory", str(folder), str(SERVER_PORT)]


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve folder on the lab network while the block runs; yields its URL."""
    if not Path(f"/run/netns/{NETNS}").exists():
        raise BoxError(f"the box's network namespace {NETNS} is missing: is the box up?")
    address = f"{SERVER_IP}/{LAB_PREFIX}"
    sh(["ip", "-n", NETNS, "addr", "replace", address, "dev", BRIDGE])
    log = (run_dir() / "packages-http.log").open("a")
    # The box's prefix in its environment: `box down` of another box (its own prefix) must
    # not kill it (one did, in the middle of an upgrade, when it matched the folder only).
    proc = subprocess.Popen(server_command(folder), env={**os.environ, SERVER_MARK: PREFIX},
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        def listening() -> tuple[bool, str]:
            if proc.poll() is not None:
                raise BoxError(f"package server exited {proc.returncode}; see {log.name}")
            out = sh(["ip", "netns", "exec", NETNS, "ss", "-Htln", f"src {SERVER_IP}"],
                     check=False).stdout
            return f":{SERVER_PORT}" in out, out.strip() or "nothing listening yet"

        try:
            wait_for(listening, timeout=START_DEADLINE_S, interval=0.2, what="package server")
        except WaitTimeout as exc:
            raise BoxError(str(exc)) from None
        yield f"http://{SERVER_IP}:{SERVER_PORT}/"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        sh(["ip", "-n", NETNS, "addr", "del", address, "dev", BRIDGE], check=False)


def is_package_server(argv: list[bytes], environ: list[bytes]) -> bool:
    """Whether a process (its command line and environment, as /proc gives them) is one of
    this box's package servers: http.server on a folder of the cache, started with this box's
    prefix in its environment."""
    folder = str(cache_dir() / "packages").encode()
    return (b"http.server" in argv and any(a.startswith(folder) for a in argv)
            and f"{SERVER_MARK}={PREFIX}".encode() in environ)
