"""A Transport that answers with real captured output: stage code runs on a real `Host`
without a lab, and a command nobody recorded is an error (no fake tools)."""
from __future__ import annotations

import shlex
from pathlib import Path

from xenlab.inventory import HostSpec
from xenlab.remote import Host


class Replay:
    """A Transport answering each command line with its recorded (rc, stdout, stderr).

    A list of answers is served in order (the last one repeats): `xl list`
    before and after the migration.
    """

    def __init__(self, answers: dict[str, tuple | list[tuple]]) -> None:
        self.answers = {line: list(a) if isinstance(a, list) else [a]
                        for line, a in answers.items()}
        self.sent: list[str] = []

    def exec(self, command: str, stdin, timeout, stamps=None):
        line = shlex.split(command)[-1]  # Host sends: timeout -k 5 T sh -c LINE
        self.sent.append(line)
        if line not in self.answers:
            raise AssertionError(f"no recorded answer for {line!r}")
        queue = self.answers[line]
        rc, out, err = queue.pop(0) if len(queue) > 1 else queue[0]
        if stamps is not None:  # all at once, as a recording has no times
            stamps += [(0.0, "out", out.encode()), (0.0, "err", err.encode())]
        return rc, out.encode(), err.encode()

    def close(self) -> None:
        pass


REPLAY = Path(__file__).parent / "replay"
# What testinfra's modules ask a host before they answer (system, where `ss` is) and
# its socket listings, as the box's target answered them (tests/replay/<folder>/).
TESTINFRA_COMMANDS = {
    "uname -s": "uname-s", "cat /etc/os-release": "os-release", "uname -m": "uname-m",
    "command -v command": "command-v-command", "command -v ss": "command-v-ss",
    "/usr/bin/ss --numeric --listening --tcp": "ss-numeric-listening-tcp",
    "/usr/bin/ss --numeric --listening": "ss-numeric-listening",
}


def answers_to_testinfra(folder: str) -> dict[str, tuple[int, str, str]]:
    """The recorded answers of one host to testinfra's commands."""
    return {line: (0, (REPLAY / folder / f"{name}.stdout.txt").read_text(), "")
            for line, name in TESTINFRA_COMMANDS.items()}


def replayed(name: str, answers: dict, mode: str = "verify") -> tuple[Host, Replay]:
    transport = Replay(answers)
    return Host(HostSpec(name, "192.0.2.1"), mode, transport=transport), transport
