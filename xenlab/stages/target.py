"""Stage 1: the iSCSI target exports the LUN, read through the target adapter
(xenlab.adapters.target: tgt today), whatever software serves it."""
from __future__ import annotations

from xenlab.adapters.target import Export, IscsiTarget
from xenlab.checks import expect, fail
from xenlab.remote import Host


def check_target(target: IscsiTarget, iqn: str, lun: int, backing_store: str) -> Export:
    """The target exports `lun` as a disk backed by backing_store, of a non-zero size."""
    host = target.host.name
    exports = target.exports()
    found = [e for e in exports if e.iqn == iqn]
    expect(bool(found), host, f"target {iqn} defined in {target.software}",
           ", ".join(e.iqn for e in exports) or "no target")
    export = found[0]
    disk = export.lun(lun)
    expect(disk is not None, host, f"LUN {lun} on {iqn}",
           f"LUNs {sorted(l.lun for l in export.luns)}")
    expect(disk.type == "disk", host, f"LUN {lun} of type disk", disk.type)
    expect(disk.backing_store == backing_store, host,
           f"LUN {lun} backed by {backing_store}", disk.backing_store)
    expect(disk.size_bytes > 0, host, f"LUN {lun} with a non-zero size",
           f"{disk.size_bytes // 10**6} MB (backing store missing or empty?)")
    return export


def check_acl(target: IscsiTarget, export: Export, initiator_address: str) -> None:
    expect(initiator_address in export.acls, target.host.name,
           f"ACL {initiator_address} on {export.iqn}", ", ".join(export.acls) or "no ACL")


def check_listening(host: Host, port: int) -> None:
    # The kernel's socket table (testinfra's socket module reads `ss`), not the target
    # software's configuration: a portal configured but not bound is what an initiator meets.
    sockets = host.testinfra.socket
    if not sockets(f"tcp://{port}").is_listening:
        ports = sorted({int(s.rsplit(":", 1)[1]) for s in sockets.get_listening_sockets()
                        if s.startswith("tcp://")})
        fail(host.name, f"TCP {port} listening", str(ports))
