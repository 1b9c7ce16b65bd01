"""The lab's topology as an inline SVG: the target and the two Xen hosts (roles,
addresses), the links between them, where the guest was before and after."""
from __future__ import annotations

from html import escape
from typing import Any

from xenlab.report.i18n import _
from xenlab.results import migrations

BOX_W = 260  # a host's box


def role_name(role: str) -> str:
    """A role of the lab's description (xenlab.results.records) as the report names it."""
    return {"iSCSI target": _("iSCSI target"), "Xen host": _("Xen host"),
            "migration source": _("migration source"),
            "migration destination": _("migration destination")}.get(role, role)


def topology_svg(entry: dict[str, Any]) -> str:
    """The hosts (roles, addresses), the links between them, the guest before and after."""
    lab = entry["lab"]
    hosts = {h["name"]: h for h in lab["hosts"]}
    target = next((h for h in lab["hosts"] if "iSCSI target" in h["roles"]), None)
    xen = [h for h in lab["hosts"] if "Xen host" in h["roles"]]
    if target is None or len(xen) != 2:
        return ""
    moves = migrations(entry)
    guest = lab.get("guest") or {}
    box = {target["name"]: (250, 20)} | {xen[0]["name"]: (10, 190), xen[1]["name"]: (490, 190)}
    parts = ['<svg id="xenlab-topology" xmlns="http://www.w3.org/2000/svg" width="760" '
             'height="380" font-family="sans-serif" font-size="12">']
    for h in xen:  # the LUN, target -> each Xen host
        parts.append(_line(box[target["name"]], box[h["name"]], "iSCSI LUN"))
    parts.append(_line(box[xen[0]["name"]], box[xen[1]["name"]],
                       _("relocation, bridge {bridge}").format(bridge=lab.get("bridge") or "")))
    for name, (x, y) in box.items():
        h = hosts[name]
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="64" rx="6" fill="#e3f2fd" '
                     f'stroke="#1565c0"/>')
        parts.append(f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{escape(name)}</text>')
        roles = _(", ").join(role_name(r) for r in h["roles"])
        parts.append(f'<text x="{x + 8}" y="{y + 35}">{escape(roles)}</text>')
        where = _("lab {address}, ssh {endpoint}").format(address=h.get("lab_ip") or "-",
                                                          endpoint=h["endpoint"])
        parts.append(f'<text x="{x + 8}" y="{y + 52}">{escape(where)}</text>')
    if guest.get("name"):
        label = _("guest {name} {address}").format(name=guest["name"], address=guest.get("ip") or "")
        if moves:
            first, last = moves[0], moves[-1]
            notes = {first["source"]: _("before"), last["destination"]: _("after")}
            if first["source"] == last["destination"]:
                notes = {first["source"]: _("before and after"),
                         first["destination"]: _("in between")}
        else:
            notes = {}
        for name, note in notes.items():
            if name in box:
                x, y = box[name]
                parts.append(f'<rect x="{x + 20}" y="{y + 90}" width="160" height="44" rx="6" '
                             f'fill="#fff3e0" stroke="#ef6c00"/>')
                parts.append(f'<text x="{x + 28}" y="{y + 108}">{escape(label)}</text>')
                parts.append(f'<text x="{x + 28}" y="{y + 125}">({escape(note)})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _line(a: tuple[int, int], b: tuple[int, int], label: str) -> str:
    (x1, y1), (x2, y2) = (a[0] + BOX_W // 2, a[1] + 32), (b[0] + BOX_W // 2, b[1] + 32)
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#777" stroke-width="2"/>'
            f'<text x="{(x1 + x2) / 2 - 60}" y="{(y1 + y2) / 2 - 6}" fill="#555">'
            f'{escape(label)}</text>')
