"""`box console NAME`: attach the terminal to a VM's serial console (Ctrl-] leaves)."""
from __future__ import annotations

import os
import select
import socket
import sys
import termios
import tty
from pathlib import Path

ESCAPE = b"\x1d"  # Ctrl-]


def attach(path: Path) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        print(f"console {path}: {exc.strerror} (is the box up?)", file=sys.stderr)
        return 1
    print(f"Connected to {path.name}; Ctrl-] leaves. Press Enter for a prompt.", file=sys.stderr)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    try:
        if saved:
            tty.setraw(fd)
        while True:
            ready, _, _ = select.select([fd, sock], [], [])
            if sock in ready:
                data = sock.recv(4096)
                if not data:
                    return 0
                os.write(sys.stdout.fileno(), data)
            if fd in ready:
                data = os.read(fd, 1024)
                if not data or ESCAPE in data:
                    return 0
                sock.sendall(data)
    finally:
        if saved:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        sock.close()
