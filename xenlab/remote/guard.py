"""Which shell commands write: the guard Host.run applies in verify mode.

Verify mode must not change a lab. Writes go through Host.change (refused
outside build mode), but a write passed to run()/check() by mistake would slip
through that convention; `writes(line)` catches it at the one place every
command passes. It reads the command line the way sh would split it (lists,
pipes, `sh -c`, if/for bodies, redirections) and names the first word that
writes, or returns None. It errs on the side of refusing: an unknown `xl`
subcommand, any redirection to a file, `sed -i`, a `systemctl` verb that is
not a query.

Programs that always write are in ALWAYS; a program whose writes depend on
its arguments has a rule in RULES (see `rule`). The software that varies from
lab to lab (the toolstack: xl, xm; the iSCSI target: tgtadm, tgt-admin) is
taught by its adapter (`learn`, in xenlab.adapters), so a new adapter brings
its own verbs; the adapters are imported before the first command is judged.

The live migration (Host.migrate) is the one write verify mode may do; it
does not pass through this guard.
"""
from __future__ import annotations

import functools
import posixpath
import shlex
from typing import Callable

# Programs that change something whatever their arguments.
ALWAYS = frozenset("""
    mkfs mke2fs mkswap sfdisk parted partx partprobe wipefs cp mv rm rmdir mkdir touch
    truncate tee chmod chown chgrp ln install mount umount swapon swapoff service
    reboot shutdown halt poweroff kill pkill killall insmod rmmod modprobe ssh-keygen
    ssh-copy-id useradd usermod passwd chpasswd debootstrap apt apt-get dpkg update-grub
    update-initramfs sync losetup kpartx mdadm lvcreate lvremove vgcreate pvcreate brctl
    ifup ifdown dhclient sysctl hostnamectl resize2fs tune2fs e2fsck fsck
""".split())

# What the rules below read: the arguments that make a program write, or only show.
SYSTEMCTL_READS = frozenset({"status", "is-active", "is-enabled", "is-failed", "show", "cat",
                             "list-units", "list-unit-files", "list-sockets"})
IP_WRITES = frozenset({"add", "del", "delete", "set", "flush", "change", "replace", "append"})
ISCSIADM_WRITES = frozenset({"-l", "--login", "-u", "--logout", "--loginall", "--logoutall",
                             "new", "delete", "update", "-R", "--rescan"})
BLOCKDEV_WRITES = frozenset({"--rereadpt", "--setro", "--setrw", "--flushbufs", "--setra",
                             "--setfra", "--setbsz"})

SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", ";;", "\n"})
KEYWORDS = frozenset({"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!",
                      "{", "}", "time", "exec", "command", "sudo", "nice", "nohup", "env"})
HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
TIMEOUT_VALUED = frozenset({"-k", "-s", "--kill-after", "--signal"})


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line.replace("\n", " ; "), posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: sh would refuse it too
        return line.split()


def _segments(words: list[str]) -> list[list[str]]:
    segments, current = [], []
    for word in words:
        if word in SEPARATORS:
            segments.append(current)
            current = []
        else:
            current.append(word)
    segments.append(current)
    return [s for s in segments if s]


REDIRECTIONS = frozenset({">", ">>", ">|", "<", ">&", "<&", "&>", "<<", "<<<"})


def _redirect_target(words: list[str]) -> str | None:
    """A file an output redirection (`>`, `>>`, `>|`, `&>`) writes to, if any."""
    for i, word in enumerate(words[:-1]):
        if word in (">", ">>", ">|", "&>") and words[i + 1] not in HARMLESS_TARGETS:
            return words[i + 1]
        if word == ">&" and not words[i + 1].isdigit() and words[i + 1] != "-":
            return words[i + 1]  # >&file is >file 2>&1
    return None


def _without_redirections(words: list[str]) -> list[str]:
    kept, skip = [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
        elif word in REDIRECTIONS:
            skip = True
            if kept and kept[-1].isdigit() and i > 0 and words[i - 1] == kept[-1]:
                kept.pop()  # the fd number of 2>/dev/null
        else:
            kept.append(word)
    return kept


def _program(words: list[str]) -> tuple[str, list[str]] | None:
    rest = list(words)
    while rest:
        word = rest[0]
        if word in KEYWORDS or ("=" in word and not word.startswith("-")
                                and word.split("=", 1)[0].isidentifier()):
            rest.pop(0)
        elif word == "timeout":  # timeout [OPTION]... DURATION cmd...
            rest.pop(0)
            while rest and rest[0].startswith("-"):
                if rest.pop(0) in TIMEOUT_VALUED and rest:  # -k 5, -s KILL: a separate value
                    rest.pop(0)
            if rest:
                rest.pop(0)
        elif word == "for":  # for NAME in WORDS; the body is its own segment
            return None
        else:
            return posixpath.basename(word), rest[1:]
    return None


Rule = Callable[[str, list[str]], str | None]
RULES: dict[str, Rule] = {}  # program (basename) -> its rule


def rule(*programs: str) -> Callable[[Rule], Rule]:
    """Register `check(program, args)` as the rule of `programs`: it returns the
    words that name the write (shown in the refusal) or None when the call only reads.

    The table is the place to teach the guard a program whose writes depend on
    its arguments (a toolstack's or a target's verbs), one small rule each.
    """
    def register(check: Rule) -> Rule:
        for program in programs:
            RULES[program] = check
        return check
    return register


def learn(program: str, writing_word: Callable[[list[str]], str | None]) -> None:
    """An adapter's rule: `program ARGS` writes when writing_word(ARGS) names the
    word that writes (the refusal shows `program word`); None: it only reads."""
    def check(name: str, args: list[str]) -> str | None:
        word = writing_word(args)
        return None if word is None else f"{name} {word}".strip()
    RULES[program] = check


@functools.cache
def _adapters_taught() -> None:
    # Upward on purpose, and late: the adapters use Host (this package), and they
    # register their rules when imported. A command judged before any of them was
    # imported elsewhere must still meet their rules.
    import xenlab.adapters  # noqa: F401


def _any_of(flags: frozenset[str], shown: str) -> Rule:
    """A rule for a program that writes when one of its arguments is in `flags`
    (the write shown as `shown` with {} the argument)."""
    def check(program: str, args: list[str]) -> str | None:
        flag = next((a for a in args if a in flags), None)
        return shown.format(flag) if flag else None
    return check


@rule("systemctl")
def _systemctl(program: str, args: list[str]) -> str | None:
    verb = next((a for a in args if not a.startswith("-")), None)
    return None if verb is None or verb in SYSTEMCTL_READS else f"systemctl {verb}"


rule("ip")(_any_of(IP_WRITES, "ip ... {}"))
rule("blockdev")(_any_of(BLOCKDEV_WRITES, "blockdev {}"))
_iscsiadm_flags = _any_of(ISCSIADM_WRITES, "iscsiadm {}")


@rule("iscsiadm")
def _iscsiadm(program: str, args: list[str]) -> str | None:
    if "discovery" in args and ("-t" in args or "--type" in args):
        return "iscsiadm -m discovery -t (records nodes)"
    return _iscsiadm_flags(program, args)


@rule("sed")
def _sed(program: str, args: list[str]) -> str | None:
    return "sed -i" if any(a.startswith(("-i", "--in-place")) for a in args) else None


@rule("fdisk")
def _fdisk(program: str, args: list[str]) -> str | None:
    return None if any(a in ("-l", "--list") for a in args) else "fdisk"


@rule("dd")
def _dd(program: str, args: list[str]) -> str | None:
    # without of= it writes to its stdout only
    return "dd of=" if any(a.startswith(("of=", "--output")) for a in args) else None


@rule("debugfs")
def _debugfs(program: str, args: list[str]) -> str | None:
    return "debugfs -w" if "-w" in args else None


@rule("udevadm")
def _udevadm(program: str, args: list[str]) -> str | None:
    return "udevadm trigger" if args[:1] == ["trigger"] else None


def _segment_writes(segment: list[str]) -> str | None:
    target = _redirect_target(segment)
    if target is not None:
        return f"> {target}"
    found = _program(_without_redirections(segment))
    if found is None:
        return None
    program, args = found
    if program in ("sh", "bash", "dash") and "-c" in args:
        return writes(" ".join(args[args.index("-c") + 1:][:1]))
    if program in ALWAYS or program.startswith("mkfs."):
        return program
    check = RULES.get(program)
    return check(program, args) if check else None


def writes(line: str) -> str | None:
    """The first word of `line` that writes (e.g. 'mkfs', 'xl create', '> /etc/x'), or None."""
    _adapters_taught()
    for segment in _segments(_words(line)):
        found = _segment_writes(segment)
        if found:
            return found
    return None
