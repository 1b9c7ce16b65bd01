"""Command line (`xenlab`, or `python -m xenlab`): `run [pytest options]`, the suite against
a lab from any directory; `box up|down|reset|status|reboot NAME|ssh NAME|console NAME|setup|
class-inventory N`, the lab-in-a-box."""
from __future__ import annotations

import argparse
import os
import sys

from .box.host import BoxError, Progress
from .box.inventory import TARGETS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:  # everything after it is pytest's
        from .suite import run
        return run(argv[1:])
    parser = argparse.ArgumentParser(prog="xenlab")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the acceptance suite against a lab, from any directory: "
                   "`xenlab run --inventory PATH [pytest options]`", add_help=False)
    box = sub.add_parser("box", help="the lab-in-a-box (three QEMU VMs on this machine)")
    verbs = box.add_subparsers(dest="verb", required=True)
    for verb, text in (("up", "build the image if needed, start the hosts (resumed as saved after "
                               "their first boot), print the inventory path"),
                       ("reset", "down, then up with fresh hosts")):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("--boot", action="store_true",
                       help="boot the hosts instead of resuming their saved state (and save anew)")
        p.add_argument("--target", choices=TARGETS, default=None,
                       help="the iSCSI target software the inventory names for build mode: "
                            "tgt (the article's; default for new hosts) or lio (targetcli)")
    verbs.add_parser("down", help="stop every VM by PID, delete namespaces and taps")
    verbs.add_parser("status", help="what runs")
    verbs.add_parser("setup", help="install the host packages the box needs")
    p = verbs.add_parser("class-inventory", help="write an inventory listing the running box as "
                         "N labs (class mode, verify without migration), print its path")
    p.add_argument("labs", type=int, help="how many labs (lab1 ... labN)")
    p = verbs.add_parser("packages", help="download, once, what upgrading the box's hosts in "
                         "place to another Debian release needs (a local package source for "
                         "the VMs, which have no route to the mirror); print its folder")
    p.add_argument("--release", default="trixie", help="the Debian release (default: trixie)")
    p = verbs.add_parser("upgrade", help="upgrade a host in place to another Debian release "
                         "(apt full-upgrade, the release's Xen, update-grub) and boot it from "
                         "its own disk; the host must run no guest")
    p.add_argument("name", choices=("test1", "test2"))
    p.add_argument("--to", dest="release", default="trixie",
                   help="the Debian release (default: trixie)")
    p = verbs.add_parser("reboot", help="reboot a host from inside (systemctl reboot) and wait "
                         "until it is back")
    p.add_argument("name", choices=("target", "test1", "test2"))
    for verb in ("ssh", "console"):
        p = verbs.add_parser(verb, help=f"{verb} into a host")
        p.add_argument("name", choices=("target", "test1", "test2"))
        if verb == "ssh":
            p.add_argument("remote", nargs=argparse.REMAINDER, help="command to run")
    args = parser.parse_args(argv)
    return run_box(args)


def run_box(args: argparse.Namespace) -> int:
    from .box import lifecycle
    from .box.paths import run_dir
    from .box.seed import identity

    progress = Progress()
    if os.geteuid() != 0 and args.verb not in ("status",):
        print("xenlab box: needs root (QEMU taps, network namespaces, debootstrap)", file=sys.stderr)
        return 2
    try:
        if args.verb in ("up", "reset"):
            if args.verb == "reset":
                lifecycle.down(progress)
            print(lifecycle.up(progress, boot=args.boot, target=args.target))
        elif args.verb == "packages":
            from .box.image import ensure_image
            from .box.packages import package_source
            print(package_source(ensure_image(progress), args.release, progress))
        elif args.verb == "upgrade":
            from .box.upgrade import upgrade
            timings = upgrade(progress, args.name, args.release)
            print(" ".join(f"{step}={seconds:.1f}s" for step, seconds in timings.items()))
        elif args.verb == "reboot":
            lifecycle.reboot(progress, args.name)
        elif args.verb == "down":
            lifecycle.down(progress)
        elif args.verb == "status":
            print(lifecycle.describe())
        elif args.verb == "setup":
            lifecycle.ensure_host_packages(progress)
        elif args.verb == "class-inventory":
            print(write_class_inventory(args.labs))
        elif args.verb == "ssh":
            vm = identity(args.name)
            cmd = lifecycle.ssh_command(vm, *args.remote, shared=True)
            if not args.remote:
                cmd.insert(1, "-t")
            os.execvp(cmd[0], cmd)
        elif args.verb == "console":
            from .box.console import attach
            return attach(run_dir() / f"{args.name}.console")
    except BoxError as exc:
        print(f"xenlab box: {exc}", file=sys.stderr)
        return 1
    return 0


def write_class_inventory(count: int) -> str:
    from .box.inventory import class_inventory
    from .box.paths import run_dir
    from .inventory import box_inventory_path

    box = box_inventory_path()
    if box is None:
        raise BoxError("the box is not running: `python -m xenlab box up` first")
    if count < 1:
        raise BoxError(f"a class needs at least one lab, not {count}")
    path = run_dir() / f"class-{count}.ini"
    path.write_text(class_inventory(box.read_text(), [f"lab{i}" for i in range(1, count + 1)]))
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
