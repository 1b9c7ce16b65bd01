"""A plan run by hand: the commands of a plan run's xenlab-plan.json, exactly as listed (each
its `line`, what a person types), over SSH to the box's hosts in the plan's order (what a
student does with the plan in hand). A command whose input is another host's file gets that
file as it is when it runs; what is typed in a console is typed there. A hint's fix runs the
same way (run_line)."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from xenlab.inventory import load_lab

from .boxkit import box_ssh
from .handbuilt.driver import CONSOLE_WAIT_S, PROMPT, Console


def run_plan(plan: Path, inventory: Path) -> list[str]:
    """Every command of the plan, stage by stage, as its line says; what ran. Stops at the
    first that fails."""
    lab = load_lab(inventory)
    hosts = {spec.name: spec for spec in lab.hosts}
    [stages] = json.loads(plan.read_text())["labs"].values()
    ran = []
    for stage in stages:
        for c in stage["commands"]:
            if c["kind"] == "console":
                typed_on_console(hosts[c["host"]], c["command"], c["input"].splitlines(),
                                 lab.values.guest_ip)
            else:
                done = run_line(c["host"], c["line"])
                assert done.returncode == 0, (f"stage {stage['stage']}: {c['host']}$ "
                                              f"{c['line'][:300]}: {done.stderr[-500:]}")
            ran.append(f"{c['host']}$ {c['line']}")
    return ran


# A line whose input is another host's file, as a plan and a hint show it
FROM_FILE = re.compile(r"^\(on (\S+): cat (\S+)\) \| \((.*)\)$", re.S)


def run_line(host: str, line: str):
    """A planned command's line (a plan's, a hint's) run on host as given; `(on H: cat P) |
    (C)` reads P on H and pipes it to C."""
    if found := FROM_FILE.match(line):
        read = box_ssh(found[1], f"cat -- {found[2]}")
        assert read.returncode == 0, f"{found[1]}: cat {found[2]}: {read.stderr[-300:]}"
        line = f"printf '%s' {shlex.quote(read.stdout)} | ({found[3]})"
    return box_ssh(host, line, timeout=600)


def typed_on_console(spec, command: str, lines: list[str], guest_ip: str) -> None:
    console = Console(spec, command)
    try:
        console.until(PROMPT, CONSOLE_WAIT_S, b"\r")
        for line in lines:
            if line.startswith("ifconfig ") and guest_ip in line:
                console.address_set(line, guest_ip)
            else:
                console.until(PROMPT, 60, f"{line}\r".encode())
    finally:
        console.close()
