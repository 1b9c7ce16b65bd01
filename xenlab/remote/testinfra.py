"""Our Host as a testinfra backend: testinfra's modules, our command path.

`host.service(...)`, `host.file(...)`, `host.socket(...)` and the other modules
of testinfra only ever call their backend's run(). XenlabBackend answers it
with Host.run(), so what testinfra asks goes over the run's one connection,
under our deadline, through the verify-mode write guard, with sudo as the Host
does it, and into the evidence recorder with the host's secrets redacted:
testinfra needs no connection, quoting or policy of its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import testinfra.host
from testinfra.backend.base import BaseBackend, CommandResult

if TYPE_CHECKING:
    from xenlab.remote.host import Host

DEFAULT_TIMEOUT_S = 30.0  # Host.run's own default


class XenlabBackend(BaseBackend):
    """A testinfra backend whose every command is `host.run(command)`.

    Built with testinfra's sudo off: Host already puts every command under
    sudo when the host becomes another user, and a second sudo would ask again. Output is what
    Host.run returns: decoded as UTF-8 and redacted, the text our own checks see.
    """

    NAME = "xenlab"

    def __init__(self, host: Host, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(host.name)
        self.host = host
        self.timeout = timeout

    def run(self, command: str, *args: str, timeout: float | None = None,
            **kwargs: Any) -> CommandResult:
        """testinfra's run(command, *args): quoted by testinfra's get_command, sent by
        Host.run. The keyword timeout overrides the backend's; testinfra's other
        keywords (encoding=) are not ours to honour: we always decode UTF-8.

        A non-zero rc is returned, as testinfra expects; a passed deadline raises
        CommandTimeout and a write in verify mode ReadOnlyViolation (nothing sent).
        """
        result = self.host.run(self.get_command(command, *args),
                               timeout=self.timeout if timeout is None else timeout)
        return self.result(result.rc, result.command.encode(), result.stdout, result.stderr)

    def get_encoding(self) -> str:
        """Host.run decodes UTF-8: no remote python to ask (testinfra's way)."""
        return "utf-8"


def as_testinfra_host(host: Host) -> testinfra.host.Host:
    """A testinfra host over `host`: `as_testinfra_host(h).service("tgt").is_running`."""
    backend = XenlabBackend(host)
    tested = testinfra.host.Host(backend)
    backend.set_host(tested)
    return tested
