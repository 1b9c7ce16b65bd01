"""A lab built by hand on fresh box hosts, as a student would, then checked by the suite.

Each variant is a shell script in tests/handbuilt/ (the article's commands translated to
xl, in the order its `# steps:` line gives, written apart from xenlab's build code). This
script resets the box to fresh hosts, runs those steps over SSH, types the guest's
address on its console as the article does, then runs the suite:
verify (migration included) -> build over the hand-built lab -> verify again.

    .venv/bin/python bench/handbuilt.py --variant logged-in-first [--verify-runs 10]

Prints each phase's outcome and time; exit status 1 if a suite run failed.
"""
from __future__ import annotations

import argparse
import ipaddress
import re
import subprocess
import sys
import time
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from xenlab.inventory import HostSpec, Lab, load_lab  # noqa: E402  (reading only, no build code)

SCRIPTS = ROOT / "tests" / "handbuilt"
CONSOLE_WAIT_S = 240.0  # a fresh guest's kernel and initramfs under TCG
PROMPT = re.compile(rb"[#$] ")  # ash's "/ # "; kernel lines may follow it on the console


def box(*verb: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xenlab", "box", *verb], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def environment(lab: Lab, host: HostSpec) -> dict[str, str]:
    """The values a step's commands use, from the box's inventory."""
    v = lab.values
    net = ipaddress.ip_network(f"{host.lab_ip}/{v.lab_prefix}", strict=False)
    return {"IQN": v.iscsi_iqn, "TARGET_IP": lab.target.lab_ip, "NET": str(net.network_address),
            "PREFIX": str(v.lab_prefix), "BACKING": v.iscsi_backing_store, "MY_IP": host.lab_ip,
            "DISK": v.shared_disk, "PART": v.shared_partition, "MOUNT": v.shared_mount,
            "IMAGE": v.guest_image, "MODULE": v.guest_netfront_module, "KERNEL": v.guest_kernel,
            "RAMDISK": v.guest_ramdisk, "GUEST": v.guest_name,
            "MEMORY": str(v.guest_memory_mib), "BRIDGE": v.bridge, "PORT": v.bridge_port}


def step(variant: str, host: str, name: str, env: dict[str, str], *args: str) -> str:
    script = (SCRIPTS / "common.sh").read_text() + (SCRIPTS / f"{variant}.sh").read_text()
    exports = " ".join(f"{k}='{v}'" for k, v in env.items())
    command = f"env {exports} sh -s {name} " + " ".join(f"'{a}'" for a in args)
    proc = subprocess.run([sys.executable, "-m", "xenlab", "box", "ssh", host, command],
                          input=script, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"{variant}: {host}: {name} failed (rc {proc.returncode}): "
                 f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc.stdout


def type_guest_address(lab: Lab, spec: HostSpec) -> None:
    """The article's console session: insmod xen-netfront.ko; ifconfig eth0 IP up."""
    v, host = lab.values, spec.name
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # the box's own VM
    client.connect(spec.address, port=spec.port, username=spec.user, key_filename=spec.key_file,
                   timeout=20)
    chan = client.get_transport().open_session()
    chan.get_pty(term="dumb", width=200, height=50)
    chan.exec_command(f"xl console {v.guest_name}")
    seen = b""

    def until(pattern: re.Pattern, timeout: float, send: bytes = b"") -> None:
        nonlocal seen
        seen = b""
        if send:
            chan.send(send)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if chan.recv_ready():
                seen += chan.recv(65536)
                if pattern.search(seen):
                    return
            elif chan.exit_status_ready():
                break
            else:
                chan.status_event.wait(0.2)
        sys.exit(f"{host}: guest console: no {pattern.pattern!r} within {timeout:g} s; "
                 f"last seen: {seen[-300:]!r}")

    until(PROMPT, CONSOLE_WAIT_S, b"\r")
    module = "/lib/modules/" + v.guest_netfront_module.rsplit("/", 1)[1]
    until(PROMPT, 60, f"insmod {module}\r".encode())
    mask = ipaddress.ip_network(f"0.0.0.0/{v.lab_prefix}").netmask
    deadline = time.monotonic() + 60
    while True:  # eth0 appears once netfront has met its backend
        until(PROMPT, 30, f"ifconfig eth0 {v.guest_ip} netmask {mask} up\r".encode())
        until(PROMPT, 30, b"ifconfig eth0\r")
        if v.guest_ip.encode() in seen or time.monotonic() > deadline:
            break
    chan.send(b"\x1d")
    client.close()


def suite(inventory: Path, *args: str) -> tuple[bool, str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={inventory}",
                           "-p", "no:cacheprovider", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-12:]
    return proc.returncode == 0, "\n".join(tail), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True,
                        choices=sorted(p.stem for p in SCRIPTS.glob("*.sh") if p.stem != "common"))
    parser.add_argument("--verify-runs", type=int, default=1)
    parser.add_argument("--only-build", action="store_true",
                        help="build the lab by hand on fresh hosts and stop (no suite run)")
    parser.add_argument("--no-build", action="store_true",
                        help="run the suite on the box as it is (built by an --only-build run)")
    args = parser.parse_args()
    if args.no_build:
        up = box("up")
        sys.exit(check(Path(up.stdout.strip().splitlines()[-1]), args))
    started = time.monotonic()
    reset = box("reset")
    if reset.returncode != 0:
        sys.exit(f"box reset failed: {reset.stderr.strip()[-500:]}")
    inventory = Path(reset.stdout.strip().splitlines()[-1])
    build_by_hand(args.variant, inventory)
    print(f"{args.variant}: built by hand in {time.monotonic() - started:.0f} s")
    if not args.only_build:
        sys.exit(check(inventory, args))


def build_by_hand(variant: str, inventory: Path) -> None:
    lab = load_lab(inventory)
    hosts = {spec.name: spec for spec in lab.hosts}
    order = re.search(r"^# steps: (.*)$", (SCRIPTS / f"{variant}.sh").read_text(), re.M)
    keys: dict[str, str] = {}
    for item in order.group(1).split():
        host, name = item.split(":")
        env = environment(lab, hosts[host])
        other = "test2" if host == "test1" else "test1"
        if name == "ssh_key":
            keys[host] = step(variant, host, name, env).strip()
        elif name == "trust":
            step(variant, host, name, env, keys[other], hosts[other].lab_ip)
        else:
            step(variant, host, name, env)
        if name == "start_guest":
            type_guest_address(lab, hosts[host])


def check(inventory: Path, args: argparse.Namespace) -> int:
    """verify (N times) -> build over the lab -> verify again; 1 if a run failed."""
    failed = 0
    # Build over the lab without moving the guest (the migration is verify's to prove).
    phases = [("verify", ())] * args.verify_runs + [
        ("build", ("--lab-mode=build", "--allow-destructive", "-m", "not migration")),
        ("verify again", ())]
    for phase, extra in phases:
        ok, tail, took = suite(inventory, *extra)
        failed += not ok
        print(f"{args.variant}: {phase}: {'passed' if ok else 'FAILED'} in {took:.0f} s\n{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    main()
