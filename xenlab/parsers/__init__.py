"""Pure parsers: a command's text output -> frozen dataclasses (tuples, no lists).

No I/O here. Output a parser does not know (or empty output, where that is
not a valid answer) raises `xenlab.errors.ParseError`, whose message names
the parser and shows the first lines it saw.
"""

from xenlab.errors import ParseError

from .fdisk import BlockDevice, FdiskDisk, FdiskPartition, parse_fdisk_list, parse_lsblk_json
from .guestcfg import DiskSpec, GuestConfig, VifSpec, parse_guest_config
from .iscsiadm import (
    IscsiPortalTarget,
    IscsiSession,
    IscsiSessionDetail,
    parse_discovery,
    parse_initiator_name,
    parse_session_detail,
    parse_sessions,
)
from .lio import LioBackstore, LioConfig, LioTarget, LioTpg, parse_lio_configfs
from .migrationlog import MigrationPhases, parse_migration_log
from .modinfo import ModInfo, parse_modinfo
from .net import (
    Interface,
    IpInterface,
    Listener,
    parse_ifconfig,
    parse_ip_addr_json,
    parse_ss_listen,
)
from .sxp import XendConfig, parse_sxp, parse_xend_config
from .tgtadm import TgtLun, TgtNexus, TgtTarget, parse_tgtadm_show
from .xen import (BackendInventory, Domain, XenInfo, parse_backend_inventory, parse_domain_list,
                  parse_domain_types, parse_xen_info, parse_domain_disks, DomainDisk)

__all__ = [
    "ParseError",
    # xl migrate's timed account
    "parse_migration_log", "MigrationPhases",
    # tgt
    "parse_tgtadm_show", "TgtTarget", "TgtNexus", "TgtLun",
    # LIO (configfs)
    "parse_lio_configfs", "LioConfig", "LioTarget", "LioTpg", "LioBackstore",
    # open-iscsi
    "parse_discovery", "parse_initiator_name", "parse_sessions", "parse_session_detail",
    "IscsiPortalTarget", "IscsiSession", "IscsiSessionDetail",
    # block devices
    "parse_fdisk_list", "FdiskDisk", "FdiskPartition", "parse_lsblk_json", "BlockDevice",
    # xen
    "parse_domain_list", "Domain", "parse_xen_info", "XenInfo", "parse_domain_types", "parse_domain_disks", "DomainDisk",
    "parse_backend_inventory", "BackendInventory",
    "parse_sxp", "parse_xend_config", "XendConfig",
    "parse_guest_config", "GuestConfig", "DiskSpec", "VifSpec",
    # network, modules
    "parse_ifconfig", "Interface", "parse_ip_addr_json", "IpInterface",
    "parse_ss_listen", "Listener",
    "parse_modinfo", "ModInfo",
]
