"""Stage 1: the iSCSI target exports the LUN (tgtd; the article's targets.conf)."""
from __future__ import annotations

from xenlab.checks import Finding, expect, fail
from xenlab.parsers import TgtTarget, parse_ss_listen, parse_tgtadm_show
from xenlab.remote import Host

CONF_D = "/etc/tgt/conf.d"
CONF_MAIN = "/etc/tgt/targets.conf"


def target_stanza(iqn: str, backing_store: str, initiator_address: str) -> str:
    return (f"<target {iqn}>\n    backing-store {backing_store}\n"
            f"    initiator-address {initiator_address}\n</target>\n")


def show(host: Host) -> tuple[TgtTarget, ...]:
    result = host.run("tgtadm --lld iscsi -m target -o show", timeout=20)
    if result.rc != 0:
        fail(host.name, "tgtd answering `tgtadm --lld iscsi -m target -o show`",
             result.one_line())
    return parse_tgtadm_show(result.stdout)


def build(host: Host, iqn: str, backing_store: str, initiator_address: str) -> list[str]:
    changes = []
    configured = host.run("grep -rls -- %s %s %s", f"<target {iqn}>", CONF_MAIN, CONF_D)
    if not configured.stdout.strip():
        stanza = target_stanza(iqn, backing_store, initiator_address)
        if host.run("test -d %s", CONF_D).rc == 0:
            host.write_file(f"{CONF_D}/xenlab.conf", stanza)
            changes.append(f"{host.name}: wrote {CONF_D}/xenlab.conf")
        else:
            host.change("printf '%%s' %s >> %s", stanza, CONF_MAIN)
            changes.append(f"{host.name}: appended the target to {CONF_MAIN}")
    if host.run("tgtadm --lld iscsi -m target -o show", timeout=20).rc != 0:
        host.change("systemctl start tgt 2>/dev/null || service tgtd start", timeout=60)
        changes.append(f"{host.name}: started tgtd")
    elif not any(t.iqn == iqn for t in show(host)):
        host.change("tgt-admin --update ALL", timeout=60)
        changes.append(f"{host.name}: loaded the target into the running tgtd (tgt-admin --update ALL)")
    return changes


def check_target(host: Host, iqn: str, lun: int, backing_store: str) -> TgtTarget:
    targets = show(host)
    found = [t for t in targets if t.iqn == iqn]
    expect(bool(found), host.name, f"target {iqn} defined in tgtd",
           ", ".join(t.iqn for t in targets) or "no target")
    target = found[0]
    luns = {l.lun: l for l in target.luns}
    expect(lun in luns, host.name, f"LUN {lun} on {iqn}", f"LUNs {sorted(luns)}")
    disk = luns[lun]
    expect(disk.type == "disk", host.name, f"LUN {lun} of type disk", disk.type)
    expect(disk.backing_store_path == backing_store, host.name,
           f"LUN {lun} backed by {backing_store}", disk.backing_store_path)
    expect(disk.size_mb > 0, host.name, f"LUN {lun} with a non-zero size",
           f"{disk.size_mb} MB (backing store missing or empty?)")
    return target


def check_acl(host: Host, target: TgtTarget, initiator_address: str) -> None:
    expect(initiator_address in target.acls, host.name,
           f"ACL {initiator_address} on {target.iqn}", ", ".join(target.acls) or "no ACL")


def check_listening(host: Host, port: int) -> None:
    listeners = parse_ss_listen(host.check("ss -tln", timeout=15).stdout)
    expect(any(l.port == port for l in listeners), host.name,
           f"TCP {port} listening", sorted({l.port for l in listeners}))


def hazards(host: Host, target: TgtTarget) -> list[Finding]:
    found = []
    if "ALL" in target.acls:
        found.append(Finding(host.name, f"target {target.iqn} accepts any initiator (ACL ALL)",
                             "any host on the network can log in and write the shared disk",
                             "initiator-address limited to the Xen hosts' network or names"))
    if not target.accounts:
        found.append(Finding(host.name, f"target {target.iqn} has no CHAP account",
                             "initiators are not authenticated; an address is easy to borrow",
                             "incominguser/CHAP on the target and node.session.auth on initiators"))
    return found
