"""A plan run by hand: the commands of a plan run's xenlab-plan.json, exactly as listed, over
SSH to the box's hosts in the plan's order (what a student does with the plan in hand). A
command whose input is another host's file gets that file as it is when it runs; what is
typed in a console is typed there."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from xenlab.inventory import load_lab

from .boxkit import box_ssh
from .handbuilt.driver import CONSOLE_WAIT_S, PROMPT, Console


def run_plan(plan: Path, inventory: Path) -> list[str]:
    """Every command of the plan, stage by stage; what ran. Stops at the first that fails."""
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
                command = c["command"]
                text = c["input"]
                if c["input_from"]:
                    source, path = c["input_from"]
                    read = box_ssh(source, f"cat -- {shlex.quote(path)}")
                    assert read.returncode == 0, f"{source}: cat {path}: {read.stderr[-300:]}"
                    text = read.stdout
                if text is not None:
                    command = f"printf '%s' {shlex.quote(text)} | ({command})"
                done = box_ssh(c["host"], command, timeout=600)
                assert done.returncode == 0, (f"stage {stage['stage']}: {c['host']}$ "
                                              f"{c['line'][:300]}: {done.stderr[-500:]}")
            ran.append(f"{c['host']}$ {c['line']}")
    return ran


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
