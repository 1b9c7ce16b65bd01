"""Builds the lab by hand on fresh box hosts, as a student would: the steps of a variant
script (tests/handbuilt/VARIANT.sh, the article's commands translated to xl) run over SSH
in the order its `# steps:` line gives, and the guest's address is typed on its console
as the article does. Shared by tests/test_handbuilt_box.py and bench/handbuilt.py.

No build code of xenlab is used: the inventory is read for the lab's values, nothing else.
"""
from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import time
from pathlib import Path

import paramiko

from xenlab.inventory import HostSpec, Lab, load_lab  # reading the values only

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = Path(__file__).resolve().parent
VARIANTS = tuple(sorted(p.stem for p in SCRIPTS.glob("*.sh") if p.stem != "common"))
CONSOLE_WAIT_S = 240.0  # a fresh guest's kernel and initramfs under TCG
PROMPT = re.compile(rb"[#$] ")  # ash's "/ # "; kernel lines may follow it on the console


class HandBuildFailed(Exception):
    """A step of the hand-built lab failed: names the variant, the host and the step."""


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
        raise HandBuildFailed(f"{variant}: {host}: {name} failed (rc {proc.returncode}): "
                              f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc.stdout


class Console:
    """An interactive console over SSH (`xl console NAME`) that waits for the shell's prompt."""

    def __init__(self, spec: HostSpec, command: str) -> None:
        self.host = spec.name
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # the box's own VM
        self.client.connect(spec.address, port=spec.port, username=spec.user,
                            key_filename=spec.key_file, timeout=20)
        self.chan = self.client.get_transport().open_session()
        self.chan.get_pty(term="dumb", width=200, height=50)
        self.chan.exec_command(command)
        self.seen = b""

    def until(self, pattern: re.Pattern, timeout: float, send: bytes = b"") -> None:
        self.seen = b""
        if send:
            self.chan.send(send)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.chan.recv_ready():
                self.seen += self.chan.recv(65536)
                if pattern.search(self.seen):
                    return
            elif self.chan.exit_status_ready():
                break
            else:
                self.chan.status_event.wait(0.2)
        raise HandBuildFailed(f"{self.host}: guest console: no {pattern.pattern!r} within "
                              f"{timeout:g} s; last seen: {self.seen[-300:]!r}")

    def address_set(self, ifconfig: str, ip: str, timeout: float = 60) -> None:
        """`ifconfig eth0 IP ... up` typed until eth0 shows IP (eth0 appears once netfront
        has met its backend)."""
        deadline = time.monotonic() + timeout
        while True:
            self.until(PROMPT, 30, f"{ifconfig}\r".encode())
            self.until(PROMPT, 30, b"ifconfig eth0\r")
            if ip.encode() in self.seen or time.monotonic() > deadline:
                return

    def close(self) -> None:
        self.chan.send(b"\x1d")
        self.client.close()


def type_guest_address(lab: Lab, spec: HostSpec) -> None:
    """The article's console session: insmod xen-netfront.ko; ifconfig eth0 IP up."""
    v = lab.values
    console = Console(spec, f"xl console {v.guest_name}")
    try:
        console.until(PROMPT, CONSOLE_WAIT_S, b"\r")
        module = "/lib/modules/" + v.guest_netfront_module.rsplit("/", 1)[1]
        console.until(PROMPT, 60, f"insmod {module}\r".encode())
        mask = ipaddress.ip_network(f"0.0.0.0/{v.lab_prefix}").netmask
        console.address_set(f"ifconfig eth0 {v.guest_ip} netmask {mask} up", v.guest_ip)
    finally:
        console.close()


def build_by_hand(variant: str, inventory: Path) -> None:
    """Every step of the variant, in its order, on the box's fresh hosts."""
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
