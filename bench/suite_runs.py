"""What the benchmarks that run the whole suite share: their arguments and the lab's inventory."""
from __future__ import annotations

import argparse
import sys

from xenlab.inventory import box_inventory_path


def arguments(default_runs: int) -> tuple[argparse.Namespace, str]:
    """--runs N, --inventory PATH and pytest's own arguments after `--`; the inventory
    defaults to the lab-in-a-box's (the program exits with a one-line error without one)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("--inventory")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    path = args.inventory or box_inventory_path()
    if path is None:
        sys.exit("no lab: pass --inventory or start the lab-in-a-box (make demo)")
    return args, str(path)
