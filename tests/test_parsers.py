"""Golden-file tests of xenlab.parsers, plus a few focused unit tests.

tests/data/<parser>/<case>.txt is a captured output, <case>.json the
structure expected from it (written by hand), or {"error": "ParseError"}.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from xenlab.errors import ParseError
from xenlab.parsers import (
    parse_discovery,
    parse_initiator_name,
    parse_lio_configfs,
    parse_domain_list,
    parse_fdisk_list,
    parse_guest_config,
    parse_ifconfig,
    parse_ip_addr_json,
    parse_lsblk_json,
    parse_modinfo,
    parse_session_detail,
    parse_sessions,
    parse_ss_listen,
    parse_sxp,
    parse_tgtadm_show,
    parse_domain_disks,
    parse_domain_types,
    parse_backend_inventory,
    parse_xen_info,
    parse_xend_config,
)
from xenlab.parsers.boot import (parse_boot_menu, parse_fstab, parse_lio_saveconfig,
                                 parse_network_files, parse_node_records, parse_tgt_conf)
from xenlab.parsers.fingerprint import parse_fingerprint
from xenlab.parsers.migrationlog import parse_migration_log
from xenlab.parsers.ping import parse_ping_timestamps

DATA = Path(__file__).parent / "data"

# tests/data/<folder> -> the parser its captures are fed to
PARSERS = {
    "tgtadm-show": parse_tgtadm_show,
    "lio-configfs": parse_lio_configfs,
    "initiatorname": parse_initiator_name,
    "iscsiadm-discovery": parse_discovery,
    "iscsiadm-session": parse_sessions,
    "iscsiadm-session-detail": parse_session_detail,
    "fdisk-l": parse_fdisk_list,
    "lsblk-json": parse_lsblk_json,
    "xm-list": parse_domain_list,
    "xl-list": parse_domain_list,
    "xm-info": parse_xen_info,
    "xl-info": parse_xen_info,
    "xl-list-long": parse_domain_types,
    "xl-list-long-disks": parse_domain_disks,
    "backend-inventory": parse_backend_inventory,
    "xend-config": parse_xend_config,
    "guest-config": parse_guest_config,
    "ifconfig": parse_ifconfig,
    "ip-addr-json": parse_ip_addr_json,
    "ss-listen": parse_ss_listen,
    "modinfo": parse_modinfo,
    "ping-probe": parse_ping_timestamps,
    "fingerprint": parse_fingerprint,
    "iscsiadm-node": parse_node_records,
    "fstab": parse_fstab,
    "tgt-conf": parse_tgt_conf,
    "lio-saveconfig": parse_lio_saveconfig,
    "network-files": parse_network_files,
    "boot-menu": parse_boot_menu,
    "xl-migrate-log": parse_migration_log,
}

CASES = sorted(DATA.glob("*/*.txt"))


def plain(value):
    """Dataclasses -> dicts, tuples -> lists: what json.load gives back."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def first_line_seen(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:30] if lines else "empty output"


def test_every_data_folder_has_a_parser_and_cases():
    folders = {path.name for path in DATA.iterdir() if path.is_dir()}
    assert folders <= PARSERS.keys(), f"no parser registered for {folders - PARSERS.keys()}"
    for folder in folders:
        names = {path.stem for path in (DATA / folder).glob("*.txt")}
        assert "empty" in names and any(n.startswith("unknown-format") for n in names), folder


@pytest.mark.parametrize("case", CASES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_golden(case: Path):
    parse = PARSERS[case.parent.name]
    text = case.read_text(encoding="utf-8")
    expected = json.loads(case.with_suffix(".json").read_text(encoding="utf-8"))
    if expected == {"error": "ParseError"}:
        with pytest.raises(ParseError) as caught:
            parse(text)
        message = str(caught.value)
        assert parse.__name__ in message
        assert first_line_seen(text) in message
    else:
        assert plain(parse(text)) == expected


# --- ParseError ---------------------------------------------------------------

def test_parse_error_shows_three_lines_on_one_line_and_truncates():
    error = ParseError("parse_x", "\n  one\n\ntwo\nthree\nfour\n", "bad")
    assert str(error) == "parse_x: bad; saw: one | two | three"
    long = str(ParseError("parse_x", "y" * 500, "bad"))
    assert len(long) < 260 and long.endswith("...")
    assert str(ParseError("parse_x", "  \n", "bad")).endswith("saw: empty output")


def test_results_are_frozen():
    (domain,) = parse_domain_list("Name ID Mem VCPUs State Time(s)\nDomain-0 0 1024 1 r----- 1.0\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        domain.name = "other"


# --- tgtadm -------------------------------------------------------------------

TGT_1_0_85 = """\
Target 1: iqn.2024-01.org.example:lab
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 1
            Initiator: iqn.1993-08.org.debian:01:abcdef alias: test1
            Connection: 0
                IP Address: 198.51.100.1
        I_T nexus: 2
            Initiator: iqn.1993-08.org.debian:01:123456 alias: test2
            Connection: 0
                IP Address: 198.51.100.2
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: null
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            SCSI ID: IET     00010001
            SCSI SN: beaf11
            Size: 5369 MB, Block size: 512
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: Yes
            SWP: No
            Thin-provisioning: No
            Backing store type: rdwr
            Backing store path: /var/lib/xenlab/lun1.img
            Backing store flags: 
    Account information:
        labuser
    ACL information:
        198.51.100.0/24
        fe80::1
"""


def test_tgtadm_1_0_85_nexus_and_extra_lun_fields():
    (target,) = parse_tgtadm_show(TGT_1_0_85)
    assert [(n.nexus, n.initiator, n.addresses) for n in target.nexuses] == [
        (1, "iqn.1993-08.org.debian:01:abcdef", ("198.51.100.1",)),
        (2, "iqn.1993-08.org.debian:01:123456", ("198.51.100.2",)),
    ]
    lun = target.luns[1]
    assert (lun.size_mb, lun.readonly) == (5369, True)
    assert lun.backing_store_path == "/var/lib/xenlab/lun1.img"
    assert target.accounts == ("labuser",)
    assert target.acls == ("198.51.100.0/24", "fe80::1")


def test_tgtadm_two_targets_and_a_broken_lun():
    second = TGT_1_0_85.replace("Target 1: iqn.2024-01.org.example:lab", "Target 2: iqn.x:two")
    text = TGT_1_0_85 + second
    assert [(t.tid, t.iqn) for t in parse_tgtadm_show(text)] == [
        (1, "iqn.2024-01.org.example:lab"), (2, "iqn.x:two")]
    with pytest.raises(ParseError, match="no 'Backing store path' line"):
        parse_tgtadm_show(TGT_1_0_85.replace("Backing store path: None\n", ""))


# --- iscsiadm -----------------------------------------------------------------

def test_iscsiadm_sessions_modern_and_ipv6():
    text = (
        "tcp: [1] 172.16.31.3:3260,1 iqn.2015-02.com.stu31:t1 (non-flash)\n"
        "tcp: [12] [2001:db8::3]:3260,1 iqn.2015-02.com.stu31:t1\n"
    )
    first, second = parse_sessions(text)
    assert (first.transport, first.sid, first.address, first.port, first.tpgt) == (
        "tcp", 1, "172.16.31.3", 3260, 1)
    assert (second.sid, second.address) == (12, "2001:db8::3")
    assert second.iqn == "iqn.2015-02.com.stu31:t1"


def test_iscsiadm_discovery_no_portals_is_empty():
    assert parse_discovery("iscsiadm: No portals found\n") == ()


# A `iscsiadm -m session -P 3` answer as open-iscsi 2.1.8 prints it (written
# from its format, not captured: real captures go to tests/data).
SESSION_P3 = """\
iSCSI Transport Class version 2.0-870
version 2.1.8
Target: iqn.2015-02.com.stu31:t1 (non-flash)
\tCurrent Portal: 172.16.31.3:3260,1
\tPersistent Portal: 172.16.31.3:3260,1
\t\t**********
\t\tInterface:
\t\t**********
\t\tIface Name: default
\t\tIface Transport: tcp
\t\tIface Initiatorname: iqn.1993-08.org.debian:01:abcdef
\t\tIface IPaddress: 172.16.31.1
\t\tIface HWaddress: default
\t\tIface Netdev: default
\t\tSID: 1
\t\tiSCSI Connection State: LOGGED IN
\t\tiSCSI Session State: LOGGED_IN
\t\tInternal iscsid Session State: NO CHANGE
\t\t*********
\t\tTimeouts:
\t\t*********
\t\tRecovery Timeout: 120
\t\tTarget Reset Timeout: 30
\t\tLUN reset Timeout: 30
\t\tAbort Timeout: 15
\t\t*****
\t\tCHAP:
\t\t*****
\t\tusername: <empty>
\t\tpassword: ********
\t\tusername_in: <empty>
\t\tpassword_in: ********
\t\t************************
\t\tNegotiated iSCSI params:
\t\t************************
\t\tHeaderDigest: None
\t\tDataDigest: None
\t\tMaxRecvDataSegmentLength: 262144
\t\tMaxXmitDataSegmentLength: 8192
\t\tFirstBurstLength: 65536
\t\tMaxBurstLength: 262144
\t\tImmediateData: Yes
\t\tInitialR2T: Yes
\t\tMaxOutstandingR2T: 1
\t\t************************
\t\tAttached SCSI devices:
\t\t************************
\t\tHost Number: 2\tState: running
\t\tscsi2 Channel 00 Id 0 Lun: 0
\t\tscsi2 Channel 00 Id 0 Lun: 1
\t\t\tAttached scsi disk sdb\t\tState: running
"""


def test_iscsiadm_session_detail_p3():
    (session,) = parse_session_detail(SESSION_P3)
    assert plain(session) == {
        "iqn": "iqn.2015-02.com.stu31:t1",
        "address": "172.16.31.3",
        "port": 3260,
        "sid": 1,
        "state": "LOGGED_IN",
        "connection_state": "LOGGED IN",
        "iscsid_state": "NO CHANGE",
        "disks": ["sdb"],
    }


def test_iscsiadm_session_detail_needs_a_sid():
    with pytest.raises(ParseError, match="SID"):
        parse_session_detail(SESSION_P3.replace("\t\tSID: 1\n", ""))


# --- fdisk / lsblk ------------------------------------------------------------

FDISK_2_17_BOOT = """\

Disk /dev/sda: 21.5 GB, 21474836480 bytes
255 heads, 63 sectors/track, 2610 cylinders
Units = cylinders of 16065 * 512 = 8225280 bytes
Sector size (logical/physical): 512 bytes / 512 bytes
I/O size (minimum/optimal): 512 bytes / 512 bytes
Disk identifier: 0x000a1b2c

   Device Boot      Start         End      Blocks   Id  System
/dev/sda1   *           1          26      204800   83  Linux
Partition 1 does not end on cylinder boundary.
/dev/sda2              26        2611    20765696   8e  Linux LVM
"""


def test_fdisk_2_17_boot_flag_and_cylinder_warning():
    disk = parse_fdisk_list(FDISK_2_17_BOOT)
    rows = [(p.device, p.boot, p.start, p.end, p.blocks, p.id, p.system) for p in disk.partitions]
    assert rows == [
        ("/dev/sda1", True, 1, 26, 204800, "83", "Linux"),
        ("/dev/sda2", False, 26, 2611, 20765696, "8e", "Linux LVM"),
    ]


def test_fdisk_odd_blocks_marker_and_two_disks():
    odd = FDISK_2_17_BOOT.replace("20765696   8e", "20765696+  8e")
    assert parse_fdisk_list(odd).partitions[1].blocks == 20765696
    with pytest.raises(ParseError, match="more than one disk"):
        parse_fdisk_list(FDISK_2_17_BOOT + FDISK_2_17_BOOT)


def test_lsblk_children_and_string_sizes():
    text = json.dumps({"blockdevices": [{
        "name": "sdb", "path": "/dev/sdb", "size": "5368709120", "type": "disk",
        "fstype": None, "mountpoint": None, "serial": "beaf11",
        "wwn": "0x60000000000000000e00000000010001",
        "pttype": "dos",
        "children": [{"name": "sdb1", "path": "/dev/sdb1", "size": 2147483648, "type": "part",
                      "fstype": "ext4", "mountpoint": "/scsistore", "serial": None, "wwn": None,
                      "pttype": "dos"}],
    }]})
    (sdb,) = parse_lsblk_json(text)
    assert (sdb.size, sdb.serial, sdb.children[0].name) == (5368709120, "beaf11", "sdb1")
    (sdb1,) = sdb.children
    assert (sdb1.mountpoint, sdb1.mountpoints) == ("/scsistore", ("/scsistore",))


# --- xen ----------------------------------------------------------------------

def test_xl_list_with_tabs_and_state_properties():
    text = (
        "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
        "Domain-0                                     0  1024     1     r-----      42.5\n"
        "busybox                                      7   512     1     -b----       0.3\n"
    )
    dom0, guest = parse_domain_list(text)
    assert (dom0.running, dom0.paused, guest.blocked, guest.running) == (True, False, True, False)
    assert (guest.domid, guest.mem_mib, guest.time_s) == (7, 512, 0.3)


def test_domain_list_paused_guest_properties():
    text = (DATA / "xm-list" / "article-after-migration-paused.txt").read_text()
    guest = parse_domain_list(text)[1]
    assert guest.paused and not guest.running and guest.vcpus == 0


def test_xen_info_version_and_missing_major():
    info = parse_xen_info((DATA / "xm-info" / "article-test2.txt").read_text())
    assert info.xen_version == "4.2.5-38.el6"
    with pytest.raises(ParseError, match="xen_major"):
        parse_xen_info("host : test1\nxen_minor : 2\n")


def test_xl_info_version_property_matches_xl_own_xen_version_line():
    info = parse_xen_info((DATA / "xl-info" / "box-test1-xen-4.17-empty-changeset.txt").read_text())
    assert info.xen_version == dict(info.fields)["xen_version"] == "4.17.5"


# --- sxp ----------------------------------------------------------------------

def test_sxp_nesting_quotes_and_comments():
    text = """
    # a comment (with parens)
    (a b)  # trailing comment
    (network-script 'network-bridge netdev=eth0')
    (x "say \\"hi\\"" (y '') z#not-a-comment)
    """
    assert parse_sxp(text) == (
        ("a", "b"),
        ("network-script", "network-bridge netdev=eth0"),
        ("x", 'say "hi"', ("y", ""), "z#not-a-comment"),
    )


@pytest.mark.parametrize("text", ["(a (b)", "a)", "(a 'open"])
def test_sxp_unbalanced(text):
    with pytest.raises(ParseError, match="parse_sxp"):
        parse_sxp(text)


def test_xend_config_first_entry_wins_and_bad_values():
    config = parse_xend_config("(xend-relocation-port 8002)\n(xend-relocation-port 9000)\n")
    assert config.relocation_port == 8002 and config.relocation_hosts_allow is None
    with pytest.raises(ParseError, match="not yes/no"):
        parse_xend_config("(xend-relocation-server maybe)")


# --- guest config ---------------------------------------------------------------

def test_guest_config_xl_syntax():
    config = parse_guest_config("""
# xl style
name = "busybox"
memory = 512
vcpus = 2
disk = [ 'format=raw, vdev=xvda, access=rw, target=/scsistore/busybox.img',
         'phy:/dev/sdb1,xvdb,r',
         'tap:aio:/scsistore/data.img,xvdc,w!',
       ]
vif = [ 'mac=00:16:3E:28:BB:F6,bridge=xenbr0,ip=172.16.31.4' ]
""")
    assert (config.memory_mib, config.vcpus, config.kernel) == (512, 2, None)
    assert [(d.target, d.backend_type, d.vdev, d.mode) for d in config.disks] == [
        ("/scsistore/busybox.img", None, "xvda", "rw"),
        ("/dev/sdb1", "phy", "xvdb", "r"),
        ("/scsistore/data.img", "tap:aio", "xvdc", "w!"),
    ]
    (vif,) = config.vifs
    assert (vif.bridge, vif.mac, vif.ip) == ("xenbr0", "00:16:3e:28:bb:f6", "172.16.31.4")


@pytest.mark.parametrize("text", [
    'import os\nname = "x"',
    'name = "x"\nmemory = 256 * 2',
    'name = __import__("os").system("true")',
    'memory = 512',  # no name
    'name = "x"\ndisk = ["xvda"]',
])
def test_guest_config_rejects_code_and_nonsense(text):
    with pytest.raises(ParseError, match="parse_guest_config"):
        parse_guest_config(text)


# --- network --------------------------------------------------------------------

def test_ip_addr_json_bridge_port():
    text = json.dumps([
        {"ifname": "xenbr0", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "mtu": 1500,
         "operstate": "UP", "address": "08:00:27:16:d9:aa", "linkinfo": {"info_kind": "bridge"},
         "addr_info": [{"family": "inet", "local": "172.16.31.1", "prefixlen": 16}]},
        {"ifname": "eth0", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "mtu": 1500,
         "master": "xenbr0", "operstate": "UP", "address": "08:00:27:16:d9:aa",
         "linkinfo": {"info_slave_kind": "bridge"}, "addr_info": []},
    ])
    bridge, port = parse_ip_addr_json(text)
    assert (bridge.kind, bridge.addresses) == ("bridge", (("172.16.31.1", 16),))
    assert (port.master, port.kind, port.up) == ("xenbr0", None, True)


def test_ss_old_ipv6_any_and_garbage():
    assert parse_ss_listen("tcp  LISTEN  0  128  :::22  :::*\n")[0].local_address == "::"
    with pytest.raises(ParseError, match="parse_ss_listen"):
        parse_ss_listen("tcp  LISTEN  0  128  0.0.0.0:ssh  0.0.0.0:*\n")


@pytest.mark.parametrize("parse, text", [
    (parse_fdisk_list, "Disk identifier: 0x8e1d9dd0\n"),
    (parse_fdisk_list, "Disk /dev/sdb: 5 GiB, 5368709120 bytes\nDevice Boot Size Id Type\n"),
    (parse_discovery, "Starting iscsid:                     [ OK ]\n"),
    (parse_ifconfig, "     inet addr:172.16.31.4\n"),
    (parse_modinfo, "alias: xennet\n"),
])
def test_partial_output_is_a_parse_error(parse, text):
    with pytest.raises(ParseError, match=parse.__name__):
        parse(text)
