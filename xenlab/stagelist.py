"""The article's stages, in order: marker, title, and what each needs.

The one place that says which stage depends on which: the plugin orders tests
by stage and skips the stages whose prerequisites failed.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    number: int
    marker: str
    title: str
    depends: tuple[int, ...]  # direct prerequisites
    # the roles whose hosts the stage checks (the reports' words): a host of these that a
    # failed stage never reached was not checked; any other host is not involved
    checks: tuple[str, ...] = ("Xen host",)


STAGES = (
    Stage(1, "stage1_target", "iSCSI target exports the LUN", (), ("iSCSI target",)),
    Stage(2, "stage2_initiators", "both Xen hosts log in to the target", (1,)),
    Stage(3, "stage3_partition", "partition and filesystem on the shared disk", (2,)),
    Stage(4, "stage4_xen", "Xen dom0 on both hosts", ()),
    Stage(5, "stage5_bridge", "bridge networking on both hosts", ()),
    Stage(6, "stage6_storage", "shared storage and the guest image", (3,)),
    Stage(7, "stage7_guest_config", "guest configuration on both hosts", (4, 6)),
    Stage(8, "stage8_relocation", "relocation service", (4, 5)),
    Stage(9, "stage9_migration", "live migration", (7, 8)),
)
BY_NUMBER = {s.number: s for s in STAGES}
BY_MARKER = {s.marker: s for s in STAGES}

# Markers that are not stages (declared with the stage markers by the plugin).
OTHER_MARKERS = {
    "destructive": "destroys data on a lab host (partitioning, mkfs): runs only in build "
                   "mode with --allow-destructive",
    "migration": "moves the guest between the Xen hosts: the one write verify mode allows",
    "box": "needs the lab-in-a-box (QEMU VMs on this machine, `python -m xenlab box up`)",
    "upgrade": "upgrades the box's Xen hosts in place to Debian 13 (about an hour): runs only "
               "when asked for, with -m upgrade",
}


def prerequisites(number: int) -> tuple[int, ...]:
    """Every stage `number` needs, directly or through another stage, in order."""
    seen: set[int] = set()
    todo = list(BY_NUMBER[number].depends)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(BY_NUMBER[n].depends)
    return tuple(sorted(seen))


def marker_lines() -> list[str]:
    """`name: sentence` for every marker, as pytest's `markers` ini wants them."""
    return ([f"{s.marker}: stage {s.number} of the article, {s.title}" for s in STAGES]
            + [f"{name}: {sentence}" for name, sentence in OTHER_MARKERS.items()])
