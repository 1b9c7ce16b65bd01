"""Where the lab-in-a-box keeps its files, and its name prefix.

Everything the box creates on this machine carries PREFIX in its name (network
namespace, taps, QEMU -name), so that leftovers of a crashed run can be found
and removed by name.
"""
from __future__ import annotations

import os
from pathlib import Path

# A second box on the same machine (e.g. for development beside CI's) takes
# its own prefix, SSH ports and state folder: XENLAB_BOX_PREFIX, XENLAB_BOX_PORT,
# XENLAB_STATE.
PREFIX = os.environ.get("XENLAB_BOX_PREFIX", "xlbox")
NETNS = f"{PREFIX}-net"
BRIDGE = f"{PREFIX}-br"


def state_root() -> Path:
    return Path(os.environ.get("XENLAB_STATE", "/var/lib/xenlab"))


def run_dir() -> Path:
    """Per-run files: overlays, seeds, sockets, logs, inventory, state.json."""
    return state_root() / "box"


def cache_dir() -> Path:
    """Images keyed by recipe hash, and debootstrap's package cache."""
    return Path(os.environ.get("XENLAB_CACHE", "/var/cache/xenlab"))


def tap_name(host: str) -> str:
    return f"{PREFIX}-{host}"[:15]
