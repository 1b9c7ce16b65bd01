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
    why: str = ""  # why a failure here matters, one sentence (a failed check's hint)
    article: str = ""  # the article's step that builds it, as the article titles it


STAGES = (
    Stage(1, "stage1_target", "iSCSI target exports the LUN", (), ("iSCSI target",),
          "without the export neither Xen host has the shared disk: no common guest image, "
          "no migration", "一.1 iSCSI服务器构建 (the iSCSI server: targets.conf, tgtd)"),
    Stage(2, "stage2_initiators", "both Xen hosts log in to the target", (1,),
          why="a Xen host without the session sees no shared disk, so the guest's image is "
          "not there to start the guest or to receive it",
          article="一.2 iSCSI客户端的安装和配置 (the initiators: iscsiadm discovery and login)"),
    Stage(3, "stage3_partition", "partition and filesystem on the shared disk", (2,),
          why="the guest's image lives on this filesystem, and both hosts must see the same "
          "partition of the same disk",
          article="三.1 将iSCSI共享存储作为虚拟机的磁盘存放路径 (fdisk /dev/sdb, mke2fs -t ext4)"),
    Stage(4, "stage4_xen", "Xen dom0 on both hosts", (),
          why="only a host running Xen with a toolstack that answers can run the guest or "
          "receive it", article="二.客户端节点Xen虚拟化环境构建 (Xen, the dom0 kernel, grub)"),
    Stage(5, "stage5_bridge", "bridge networking on both hosts", (),
          why="the guest's vif is plugged into this bridge: without it, or under another name "
          "on the other host, the guest has no network or cannot move",
          article="三.3 虚拟化平台节点桥设备构建 (the bridge xenbr0)"),
    Stage(6, "stage6_storage", "shared storage and the guest image", (3,),
          why="the guest's disk must be the same file on both hosts, read through the shared "
          "mount", article="三.1-三.2 (mount /scsistore, busybox.img and its busybox root)"),
    Stage(7, "stage7_guest_config", "guest configuration on both hosts", (4, 6),
          why="create and migrate read this file on each host; a path it names that is missing "
          "stops the guest there", article="三.4 构建busybox虚拟机 (/etc/xen/busybox)"),
    Stage(8, "stage8_relocation", "relocation service", (4, 5),
          why="the migration goes through this channel: without it migrate fails before "
          "anything moves", article="四.3 配置节点实时迁移 (relocation; xl: root SSH)"),
    Stage(9, "stage9_migration", "live migration", (7, 8),
          why="a guest that does not run on the source with its address has nothing to "
          "migrate, and a failed move is what the lab is there to prevent",
          article="四.2-四.3 启动虚拟机busybox, 实时迁移 (start the guest, migrate it)"),
)
BY_NUMBER = {s.number: s for s in STAGES}
BY_MARKER = {s.marker: s for s in STAGES}

# Markers that are not stages (declared with the stage markers by the plugin).
OTHER_MARKERS = {
    "destructive": "destroys data on a lab host (partitioning, mkfs): runs only in build "
                   "mode with --allow-destructive",
    "migration": "moves the guest between the Xen hosts: the one write verify mode allows",
    "box": "needs the lab-in-a-box (QEMU VMs on this machine, `python -m xenlab box up`)",
    "drill": "stage 9's failure drill: cuts a live migration part-way and checks the guest "
             "runs on at the source; verify-safe, runs only when asked for, with -m drill",
    "data": "stage 9's data check: the guest writes to its disk throughout each move and "
            "reads it back after; runs instead of the plain outline with --guest-data=DIR",
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
