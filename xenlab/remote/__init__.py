"""The one I/O boundary: shell commands on lab hosts.

Everything xenlab does to a host goes through `Host` (host.py), over a
`Transport` (transport.py: SSH with paramiko, or this machine). Nothing outside
this package should import paramiko or reach into a Host's connection: a PTY
comes from `Host.open_pty` (pty.py), testinfra's modules from `Host.testinfra`
(testinfra.py), an OpenSSH config from sshconfig.py; the write guard of verify
mode is guard.py.
"""
from xenlab.remote.host import Host, InputFrom, Planned, Result, command_line, write_command
from xenlab.remote.pty import PTY_CLOSED, Pty
from xenlab.remote.transport import LocalTransport, Transport, transport_for

__all__ = ["PTY_CLOSED", "Host", "InputFrom", "Planned", "command_line", "write_command", "LocalTransport", "Pty", "Result", "Transport", "transport_for"]
