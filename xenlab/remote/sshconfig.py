"""An OpenSSH client config (testinfra's --ssh-config), read into plain values.

paramiko parses the file (Host patterns, Match, %-tokens) the way it does for
its own connections; the inventory gets only strings and numbers, so paramiko
stays inside xenlab.remote.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import paramiko


@dataclass(frozen=True)
class SshConfigEntry:
    """What the config says for one host name; None (or no identity file): it says nothing."""

    hostname: str  # the name itself when no HostName applies
    port: int | None
    user: str | None
    identity_files: tuple[str, ...]
    proxy_jump: str | None = None  # as written ("none" too: the inventory reads it)
    proxy_command: str | None = None  # its %-tokens already expanded by paramiko


def read_ssh_config(path: str) -> Callable[[str], SshConfigEntry]:
    """The lookup of `path` (~ expanded) by host name; OSError when it cannot be read."""
    config = paramiko.SSHConfig.from_path(os.path.expanduser(path))

    def lookup(name: str) -> SshConfigEntry:
        entry = config.lookup(name)
        return SshConfigEntry(hostname=entry["hostname"],
                              port=int(entry["port"]) if "port" in entry else None,
                              user=entry.get("user"),
                              identity_files=tuple(entry.get("identityfile") or ()),
                              proxy_jump=entry.get("proxyjump"),
                              proxy_command=entry.get("proxycommand"))
    return lookup

