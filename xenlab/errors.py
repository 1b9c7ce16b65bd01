"""Exceptions shared by every part of xenlab."""

SAW_LINES = 3
SAW_CHARS = 200


class XenlabError(Exception):
    """Base class of every error xenlab raises on purpose.

    `host`: the lab host the error is about, when there is one (set by whoever
    raises it, read by the reports: never recovered from the message).
    """

    def __init__(self, message: str = "", host: str | None = None) -> None:
        super().__init__(message)
        self.host = host


class ParseError(XenlabError):
    """A command's output was not in the format its parser knows.

    The message names the parser and shows the first lines it saw, so that a
    failing check says what the host really answered.
    """

    def __init__(self, parser: str, text: str, reason: str) -> None:
        self.parser = parser
        self.text = text
        self.reason = reason
        super().__init__(f"{parser}: {reason}; saw: {_first_lines(text)}")


def _first_lines(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "empty output"
    seen = " | ".join(lines[:SAW_LINES])
    if len(seen) > SAW_CHARS:
        seen = seen[: SAW_CHARS - 3] + "..."
    return seen


class InventoryError(XenlabError):
    """The inventory does not describe a lab.

    One line: the inventory file, the host or group, and the cause.
    """


class ReadOnlyViolation(XenlabError):
    """A command that writes was asked for while the run is in verify mode.

    Raised before anything is sent to the host.
    """


class RemoteError(XenlabError):
    """Something went wrong talking to a lab host (one-line message)."""


class HostUnreachable(RemoteError):
    """No SSH session to the host: refused, timed out, DNS, auth, host key."""


class CommandError(RemoteError):
    """A command ran but did not end as expected; `result` holds what was seen."""

    def __init__(self, message: str, result) -> None:
        super().__init__(message, result.host)
        self.result = result


class CommandFailed(CommandError):
    """A command's exit status is not one of the expected ones."""


class CommandTimeout(CommandError):
    """A command did not finish before its deadline."""


def first_line(text: str) -> str:
    """The first non-blank line of text, stripped ('' if none): for one-line messages."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
