"""HTML for people: the lab summary on top of the pytest-html report, the Gherkin
steps with their evidence, the pictures, and the class report.

Input is the data of xenlab.results (a lab's entry, a results document);
output is self-contained HTML text (pictures inline). The migration timeline is
drawn with matplotlib; the topology is an inline SVG.
"""
from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

from xenlab import results as r
from xenlab.stagelist import BY_NUMBER, STAGES

COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "skipped": "#ef6c00",
           r.NOT_INVOLVED: "#9e9e9e", "not run": "#9e9e9e"}
BOX_W = 260  # a host's box in the topology
STYLE = """
<style>
.xenlab table { border-collapse: collapse; margin: 0.4em 0 1em 0; }
.xenlab th, .xenlab td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.xenlab .cell { color: #fff; font-weight: bold; text-align: center; }
.xenlab h3 { margin: 0.8em 0 0.2em 0; }
.xenlab-step { margin: 2px 0; white-space: normal; }
.xenlab-step summary { cursor: pointer; }
.xenlab-cmd { margin: 2px 0 6px 1.5em; }
.xenlab-cmd pre { margin: 2px 0 2px 1em; max-height: 20em; overflow: auto; background: #f6f6f6; }
</style>
"""


def status_cell(status: str) -> str:
    word = "not involved" if status == r.NOT_INVOLVED else status
    return (f'<td class="cell {escape(status)}" style="background:{COLOURS.get(status, "#666")}"'
            f'>{escape(word)}</td>')


def grid_html(entry: dict[str, Any]) -> str:
    table = r.grid(entry)
    hosts = [h["name"] for h in entry["lab"]["hosts"]]
    head = "".join(f"<th>{escape(h)}</th>" for h in hosts)
    rows = "".join(
        f"<tr><td>{n}. {escape(BY_NUMBER[n].title)}</td>"
        + "".join(status_cell(row[h]) for h in hosts) + "</tr>"
        for n, row in table.items())
    return (f'<table id="xenlab-grid"><tr><th>stage</th>{head}</tr>{rows}</table>'
            if rows else "<p>No stage ran.</p>")


def fingerprint_html(entry: dict[str, Any]) -> str:
    prints = entry["fingerprint"]
    if not prints:
        return "<p>No fingerprint (no host answered).</p>"
    parts = ("kernel", "xen", "toolstack", "tgt", "open-iscsi")
    head = "".join(f"<th>{p}</th>" for p in parts)
    rows = "".join(f"<tr><td>{escape(h)}</td>"
                   + "".join(f"<td>{escape(str(f.get(p) or '-'))}</td>" for p in parts) + "</tr>"
                   for h, f in sorted(prints.items()))
    return f'<table id="xenlab-fingerprint"><tr><th>host</th>{head}</tr>{rows}</table>'


def migrations_html(entry: dict[str, Any]) -> str:
    moves = r.migrations(entry)
    if not moves:
        return "<p>No migration in this run.</p>"
    rows = "".join(
        f"<tr><td>{escape(m['guest'])}</td><td>{escape(m['source'])} &rarr; "
        f"{escape(m['destination'])}</td><td>{m['wall_s']:.1f} s</td>"
        f"<td>{_downtime(m['downtime_s'])}</td>"
        f"<td>{m['lost']} of {m['lost'] + m['replies']}</td>"
        f"<td>{_ms(m['resolution_s'])}</td></tr>" for m in moves)
    return ('<table id="xenlab-migrations"><tr><th>guest</th><th>move</th><th>migration</th>'
            '<th>downtime</th><th>probes lost</th><th>probe resolution</th></tr>'
            f'{rows}</table>' + timeline_html(moves))


def _downtime(seconds: float | None) -> str:
    return "no reply after it" if seconds is None else f"{seconds:.2f} s"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def timeline_png(moves: list[dict[str, Any]]) -> bytes:
    """One panel per migration: each probe reply (time, round trip), the gap, start and end."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(len(moves), 1, figsize=(9, 2.6 * len(moves)), squeeze=False)
    for ax, m in zip(axes[:, 0], moves):
        points = m["timeline"]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=2, color="#1565c0",
                   label="probe reply (round trip)")
        ax.axvline(0, color="#555", linestyle="--", linewidth=1, label="migration start / end")
        ax.axvline(m["wall_s"], color="#555", linestyle="--", linewidth=1)
        if m["gap_start"] is not None and m["gap_end"] is not None:
            ax.axvspan(m["gap_start"], m["gap_end"], color="#c62828", alpha=0.25,
                       label=f"gap {m['downtime_s']:.2f} s")
        ax.set_title(f"{m['guest']}: {m['source']} -> {m['destination']}, "
                     f"migration {m['wall_s']:.1f} s", fontsize=10)
        rtts = sorted(p[1] for p in points)
        if rtts:  # a few replies queued behind the pause would flatten the rest
            ax.set_ylim(0, max(rtts[int(len(rtts) * 0.99)] * 2, 1.0))
        ax.set_xlabel("seconds since the migration started")
        ax.set_ylabel("round trip (ms)")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


def timeline_html(moves: list[dict[str, Any]]) -> str:
    data = base64.b64encode(timeline_png(moves)).decode()
    return (f'<img id="xenlab-timeline" alt="migration timeline: probe replies over time" '
            f'src="data:image/png;base64,{data}" style="max-width:100%">')


def topology_svg(entry: dict[str, Any]) -> str:
    """The hosts (roles, addresses), the links between them, the guest before and after."""
    lab = entry["lab"]
    hosts = {h["name"]: h for h in lab["hosts"]}
    target = next((h for h in lab["hosts"] if "iSCSI target" in h["roles"]), None)
    xen = [h for h in lab["hosts"] if "Xen host" in h["roles"]]
    if target is None or len(xen) != 2:
        return ""
    moves = r.migrations(entry)
    guest = lab.get("guest") or {}
    box = {target["name"]: (250, 20)} | {xen[0]["name"]: (10, 190), xen[1]["name"]: (490, 190)}
    parts = ['<svg id="xenlab-topology" xmlns="http://www.w3.org/2000/svg" width="760" '
             'height="380" font-family="sans-serif" font-size="12">']
    for h in xen:  # the LUN, target -> each Xen host
        parts.append(_line(box[target["name"]], box[h["name"]], "iSCSI LUN"))
    parts.append(_line(box[xen[0]["name"]], box[xen[1]["name"]],
                       f"relocation, bridge {lab.get('bridge') or ''}"))
    for name, (x, y) in box.items():
        h = hosts[name]
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="64" rx="6" fill="#e3f2fd" '
                     f'stroke="#1565c0"/>')
        parts.append(f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{escape(name)}</text>')
        parts.append(f'<text x="{x + 8}" y="{y + 35}">{escape(", ".join(h["roles"]))}</text>')
        parts.append(f'<text x="{x + 8}" y="{y + 52}">lab {escape(h.get("lab_ip") or "-")}, '
                     f'ssh {escape(h["endpoint"])}</text>')
    if guest.get("name"):
        label = f"guest {guest['name']} {guest.get('ip') or ''}"
        if moves:
            first, last = moves[0], moves[-1]
            notes = {first["source"]: "before", last["destination"]: "after"}
            if first["source"] == last["destination"]:
                notes = {first["source"]: "before and after", first["destination"]: "in between"}
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


def findings_html(entry: dict[str, Any]) -> str:
    found = r.findings(entry)
    if not found:
        return "<p>No finding.</p>"
    return ('<ul id="xenlab-findings">'
            + "".join(f"<li>{escape(f)}</li>" for f in found) + "</ul>")


def summary_html(entry: dict[str, Any], comparison: list[str] | None = None) -> str:
    """The top of a lab's report: grid, fingerprint, migration, topology, findings."""
    parts = [STYLE, f'<div class="xenlab"><h3>Lab {escape(entry["lab"]["name"])}: stage x host</h3>',
             grid_html(entry)]
    if comparison is not None:
        parts.append("<h3>Against the baseline</h3><ul id=\"xenlab-baseline\">"
                     + "".join(f"<li>{escape(line)}</li>" for line in comparison) + "</ul>")
    parts += ["<h3>Fingerprint</h3>", fingerprint_html(entry),
              "<h3>Migration</h3>", migrations_html(entry),
              "<h3>Topology</h3>", topology_svg(entry),
              "<h3>Findings (hazards, warnings)</h3>", findings_html(entry), "</div>"]
    return "".join(parts)


def steps_html(record: dict[str, Any]) -> str:
    """The scenario's Gherkin steps, each with the commands it ran (expandable)."""
    parts = [STYLE, '<div class="xenlab xenlab-steps">']
    if record.get("failure"):
        parts.append(f'<p class="xenlab-failure"><b>failed:</b> {escape(record["failure"])}</p>')
    for step in record["steps"]:
        colour = COLOURS.get(step["status"], "#666")
        parts.append(f'<details class="xenlab-step"{" open" if step["status"] == "failed" else ""}>'
                     f'<summary><span style="color:{colour};font-weight:bold">'
                     f'{escape(step["status"])}</span> {escape(step["text"])} '
                     f'({_count(len(step["commands"]), "command")})</summary>')
        for c in step["commands"]:
            status = "timed out" if c["rc"] is None else f"rc={c['rc']}"
            parts.append(f'<div class="xenlab-cmd"><code>{escape(c["host"])}$ '
                         f'{escape(c["command"])}</code> {status} in {c["duration_s"]:.2f} s')
            for name in ("stdout", "stderr"):
                if c[name].strip():
                    parts.append(f"<details><summary>{name}</summary>"
                                 f"<pre>{escape(c[name].rstrip())}</pre></details>")
            parts.append("</div>")
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body style="font-family:sans-serif">{body}</body></html>')


def lab_page(entry: dict[str, Any]) -> str:
    """A lab's own report (class mode): the summary, then every scenario with its steps."""
    body = [f"<h1>xenlab: lab {escape(entry['lab']['name'])}</h1>", summary_html(entry)]
    for test in entry["tests"]:
        body.append(f"<h3>{escape(test['outcome'])}: {escape(test['scenario'] or test['nodeid'])}"
                    f"</h3>{steps_html(test)}")
    return _page(f"xenlab lab {entry['lab']['name']}", "".join(body))


def class_page(document: dict[str, Any], links: dict[str, str]) -> str:
    """The class report: lab x stage, who is stuck where, each lab's report linked."""
    return _page("xenlab class report", f'{STYLE}<div class="xenlab"><h1>xenlab: class report'
                 f'</h1></div>{class_table(document, links)}')


def class_table(document: dict[str, Any], links: dict[str, str]) -> str:
    head = "".join(f"<th>{s.number}. {escape(s.title)}</th>" for s in STAGES)
    rows = []
    for name, entry in sorted(document["labs"].items()):
        outcomes = r.stage_outcomes(entry["tests"])
        stuck = next((s for s in STAGES if outcomes.get(s.number) == "failed"), None)
        link = f'<a href="{escape(links[name])}">{escape(name)}</a>' if name in links else escape(name)
        cells = "".join(status_cell(outcomes.get(s.number, "not run")) for s in STAGES)
        where = f"stuck at stage {stuck.number}" if stuck else "all run stages pass"
        rows.append(f"<tr><td>{link}</td>{cells}<td>{where}</td></tr>")
    return (f'{STYLE}<div class="xenlab"><table id="xenlab-class"><tr><th>lab</th>{head}'
            f'<th>where</th></tr>{"".join(rows)}</table></div>')
