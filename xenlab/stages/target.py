"""Stage 1: the iSCSI target exports the LUN, read through the target adapter
(xenlab.adapters.target: tgt or LIO), whatever software serves it."""
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


def check_acl(target: IscsiTarget, export: Export, entries: dict[str, str]) -> None:
    """Each entry the lab needs (IscsiTarget.acl_entries: entry -> whom it admits) is in
    the export's access list."""
    for entry, whom in entries.items():
        expect(entry in export.acls, target.host.name,
               f"ACL {entry} on {export.iqn} (admitting {whom})",
               ", ".join(export.acls) or "no ACL")


EVERY_ADDRESS = ("0.0.0.0", "::")


def check_listening(host: Host, address: str, port: int) -> None:
    """The target accepts connections on port at address (its lab address), bound to it or
    to every address."""
    # The kernel's socket table (testinfra's socket module reads `ss`), not the target
    # software's configuration: a portal configured but not bound is what an initiator
    # meets. Not testinfra's `is_listening` for "tcp://PORT": it wants 0.0.0.0 *and* ::,
    # and LIO binds only what its portals name (0.0.0.0, or one address).
    tcp = [s.removeprefix("tcp://").rpartition(":") for s in
           host.testinfra.socket.get_listening_sockets() if s.startswith("tcp://")]
    on_port = sorted(a for a, _, p in tcp if p == str(port))
    if not set(on_port) & {address, *EVERY_ADDRESS}:
        seen = (f"{port} on {', '.join(on_port)} only" if on_port
                else str(sorted({int(p) for _, _, p in tcp})))
        fail(host.name, f"TCP {port} listening on {address}", seen)
