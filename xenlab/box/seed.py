"""Per-host identity for VMs booted from one image: a tar on a small seed disk.

The image's first-boot hook unpacks it over / (see image.CONFIGURE). Host keys
are made here, so the box can write a known_hosts file and the suite checks
host keys against it like for any real lab.
"""
from __future__ import annotations

import hashlib
import os
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .host import BoxError, sh

LAB_NET = "198.51.100"
LAB_PREFIX = 24
# The article's last octets: target .3, test1 .1, test2 .2, guest .4.
LAB_OCTET = {"target": 3, "test1": 1, "test2": 2}
GUEST_OCTET = 4
MGMT_ADDRESS = "10.0.2.15/24"  # inside QEMU's user-mode network of each VM only
SSH_BASE_PORT = int(os.environ.get("XENLAB_BOX_PORT", "2201"))


@dataclass(frozen=True)
class VmIdentity:
    name: str
    index: int

    @property
    def lab_ip(self) -> str:
        return f"{LAB_NET}.{LAB_OCTET[self.name]}"

    @property
    def ssh_port(self) -> int:
        return SSH_BASE_PORT + self.index

    def mac(self, nic: int) -> str:
        return f"52:54:00:{0x10 + nic:02x}:{0x51:02x}:{self.index + 1:02x}"

    @property
    def machine_id(self) -> str:
        return hashlib.md5(f"xenlab-{self.name}".encode()).hexdigest()

    @property
    def initiator_name(self) -> str:
        return f"iqn.1993-08.org.debian:01:xenlab-{self.name}"


IDENTITIES = tuple(VmIdentity(name, i) for i, name in enumerate(("target", "test1", "test2")))


def identity(name: str) -> VmIdentity:
    """The box host called name."""
    for vm in IDENTITIES:
        if vm.name == name:
            return vm
    raise BoxError(f"no box host {name!r}: the box has {', '.join(v.name for v in IDENTITIES)}")


def ensure_keypair(path: Path, comment: str) -> str:
    """An ed25519 key pair at path (made once); returns the public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return Path(f"{path}.pub").read_text().strip()


def lab_interface(vm: VmIdentity) -> str:
    return (f"# lab network; the bridge stage moves this address to the bridge\n"
            f"auto eth0\niface eth0 inet static\n    address {vm.lab_ip}/{LAB_PREFIX}\n")


def mgmt_interface() -> str:
    return (f"# management: QEMU user-mode network, SSH from the controller only\n"
            f"auto eth1\niface eth1 inet static\n    address {MGMT_ADDRESS}\n")


def seed_files(vm: VmIdentity, client_pubkey: str, host_key: str, host_pub: str) -> dict[str, str]:
    """What the seed disk puts over / of one VM at its first boot: path -> text."""
    return {
        "etc/hostname": f"{vm.name}\n",
        "etc/hosts": f"127.0.0.1 localhost\n127.0.1.1 {vm.name}\n",
        "etc/network/interfaces.d/eth0": lab_interface(vm),
        "etc/network/interfaces.d/eth1": mgmt_interface(),
        "etc/iscsi/initiatorname.iscsi": f"InitiatorName={vm.initiator_name}\n",
        "root/.ssh/authorized_keys": client_pubkey + "\n",
        "etc/ssh/ssh_host_ed25519_key": host_key,
        "etc/ssh/ssh_host_ed25519_key.pub": host_pub,
    }


def write_seed(vm: VmIdentity, folder: Path, client_pubkey: str) -> Path:
    """The seed tar for one VM (its host key made unless already in folder); returns its path."""
    host_key = folder / f"{vm.name}.hostkey"
    ensure_keypair(host_key, f"root@{vm.name}")
    files = seed_files(vm, client_pubkey, host_key.read_text(), Path(f"{host_key}.pub").read_text())
    seed = folder / f"{vm.name}.seed.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for dirname in ("root/.ssh",):
            info = tarfile.TarInfo(dirname)
            info.type, info.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(info)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600 if ("key" in name and not name.endswith(".pub")) or ".ssh" in name else 0o644
            tar.addfile(info, io.BytesIO(data))
    # Pad to a whole number of 64 KiB so the disk size is a clean multiple.
    data = buf.getvalue()
    data += b"\0" * (-len(data) % 65536)
    seed.write_bytes(data)
    return seed


def known_hosts_line(vm: VmIdentity, folder: Path) -> str:
    key = (folder / f"{vm.name}.hostkey.pub").read_text().split()
    return f"[127.0.0.1]:{vm.ssh_port} {key[0]} {key[1]}"
