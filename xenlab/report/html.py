"""HTML for people: the lab summary on top of the pytest-html report, the Gherkin
steps with their evidence, a lab's own page and the class report.

Input is the data of xenlab.results (a lab's entry, a results document);
output is self-contained HTML text (pictures inline).
"""
from __future__ import annotations

import re
from html import escape
from typing import Any

from xenlab import results as r
from xenlab.report.i18n import SOURCE, _, language, ngettext
from xenlab.report.timeline import timeline_html
from xenlab.report.topology import topology_svg
from xenlab.stagelist import BY_NUMBER, STAGES, Stage

COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "skipped": "#ef6c00",
           r.NOT_INVOLVED: "#9e9e9e", r.NOT_CHECKED: "#bdbdbd", "not run": "#9e9e9e", "build only": "#607d8b",
           "planned": "#1565c0", r.TO_DO: "#1565c0", r.NOTHING_TO_DO: "#2e7d32"}
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


def status_word(status: str) -> str:
    """A status of the data (passed, "-", "build only", ...) as the report names it."""
    return {"passed": _("passed"), "failed": _("failed"), "skipped": _("skipped"),
            r.NOT_INVOLVED: _("not involved"), r.NOT_CHECKED: _("not checked"),
            "not run": _("not run"), "build only": _("build only"), "planned": _("planned"),
            r.TO_DO: _("to do"), r.NOTHING_TO_DO: _("nothing to do")}.get(status, status)


def stage_title(stage: Stage) -> str:
    """A stage's title in the report's language (xenlab.stagelist keeps it English)."""
    return _(stage.title)


def status_cell(status: str, why: str = "") -> str:
    word = status_word(status)
    title = f' title="{escape(why)}"' if why else ""
    css = status.replace(" ", "-")
    return (f'<td class="cell {escape(css)}" style="background:{COLOURS.get(status, "#666")}"'
            f'{title}>{escape(word)}</td>')


def _why_not_checked(row: dict[str, str], host: str) -> str:
    failed = [h for h, status in row.items() if status == "failed"]
    if failed:
        return _("not checked on {host}: the stage stopped at its first failure (on {failed}) "
                 "before it reached this host").format(host=host, failed=_(", ").join(failed))
    return _("not checked on {host}: the stage stopped at its first failure before it "
             "reached this host").format(host=host)


def grid_html(entry: dict[str, Any]) -> str:
    table = r.grid(entry)
    hosts = [h["name"] for h in entry["lab"]["hosts"]]
    head = "".join(f"<th>{escape(h)}</th>" for h in hosts)
    rows = "".join(
        f"<tr><td>{n}. {escape(stage_title(BY_NUMBER[n]))}</td>"
        + "".join(status_cell(row[h], _why_not_checked(row, h) if row[h] == r.NOT_CHECKED
                              else "") for h in hosts) + "</tr>"
        for n, row in table.items())
    return (f'<table id="xenlab-grid"><tr><th>{_("stage")}</th>{head}</tr>{rows}</table>'
            if rows else f"<p>{_('No stage ran.')}</p>")


def fingerprint_html(entry: dict[str, Any]) -> str:
    prints = entry["fingerprint"]
    if not prints:
        return f"<p>{_('No fingerprint (no host answered).')}</p>"
    parts = {"kernel": _("kernel"), "xen": "xen", "toolstack": _("toolstack"), "tgt": "tgt",
             "open-iscsi": "open-iscsi"}  # the programs' own names stay
    head = "".join(f"<th>{word}</th>" for word in parts.values())
    rows = "".join(f"<tr><td>{escape(h)}</td>"
                   + "".join(f"<td>{escape(str(f.get(p) or '-'))}</td>" for p in parts) + "</tr>"
                   for h, f in sorted(prints.items()))
    return f'<table id="xenlab-fingerprint"><tr><th>{_("host")}</th>{head}</tr>{rows}</table>'


def migrations_html(entry: dict[str, Any]) -> str:
    moves = r.migrations(entry)
    if not moves:
        return f"<p>{_('No migration in this run.')}</p>"
    rows = "".join(
        f"<tr><td>{escape(m['guest'])}</td><td>{escape(m['source'])} &rarr; "
        f"{escape(m['destination'])}</td><td>{m['wall_s']:.1f} s</td>"
        f"<td>{_downtime(m['downtime_s'])}</td>"
        f"<td>{_('{lost} of {sent}').format(lost=m['lost'], sent=m['lost'] + m['replies'])}</td>"
        f"<td>{_ms(m['resolution_s'])}</td></tr>" for m in moves)
    head = "".join(f"<th>{word}</th>" for word in (
        _("guest"), _("move"), _("migration"), _("downtime"), _("probes lost"),
        _("probe resolution")))
    return f'<table id="xenlab-migrations"><tr>{head}</tr>{rows}</table>' + timeline_html(moves)


def _downtime(seconds: float | None) -> str:
    return _("no reply after it") if seconds is None else f"{seconds:.2f} s"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def findings_html(entry: dict[str, Any]) -> str:
    found = r.findings(entry)
    if not found:
        return f"<p>{_('No finding.')}</p>"
    return ('<ul id="xenlab-findings">'
            + "".join(f"<li>{escape(finding_text(f))}</li>" for f in found) + "</ul>")


# A finding as xenlab.checks words it (Finding.line, RebootFinding.line): the sentences
# around its parts are the report's, the parts (what, why, safe or fix) the check's.
_FINDING_LINES = (
    (re.compile(r"(?P<host>[^:\s]+): (?P<what>.+) would not come back after a reboot\. "
                r"Why it matters: (?P<why>.+)\. Fix: (?P<fix>.+)\.", re.S),
     lambda: _("{host}: {what} would not come back after a reboot. Why it matters: {why}. "
               "Fix: {fix}.")),
    (re.compile(r"(?P<host>[^:\s]+): (?P<what>.+)\. Why it matters: (?P<why>.+)\. "
                r"Safe instead: (?P<safe>.+)\.", re.S),
     lambda: _("{host}: {what}. Why it matters: {why}. Safe instead: {safe}.")),
)


def finding_text(line: str) -> str:
    """A finding of a record (its English line, as the results JSON keeps it) in the report's
    language: the fixed sentences translated, the check's own parts as they are. A line of
    another shape (a free warning) is shown as it is."""
    if language() == SOURCE:
        return line
    for pattern, sentence in _FINDING_LINES:
        if found := pattern.fullmatch(line):
            return sentence().format(**found.groupdict())
    return line


def summary_html(entry: dict[str, Any], comparison: list[str] | None = None) -> str:
    """The top of a lab's report: grid, fingerprint, migration, topology, findings."""
    title = _("Lab {name}: stage x host").format(name=escape(entry["lab"]["name"]))
    parts = [STYLE, f'<div class="xenlab"><h3>{title}</h3>', grid_html(entry)]
    if comparison is not None:
        parts.append(f"<h3>{_('Against the baseline')}</h3><ul id=\"xenlab-baseline\">"
                     + "".join(f"<li>{escape(line)}</li>" for line in comparison) + "</ul>")
    parts += [f"<h3>{_('Fingerprint')}</h3>", fingerprint_html(entry),
              f"<h3>{_('Migration')}</h3>", migrations_html(entry),
              f"<h3>{_('Topology')}</h3>", topology_svg(entry),
              f"<h3>{_('Findings (hazards, warnings)')}</h3>", findings_html(entry), "</div>"]
    return "".join(parts)


def steps_html(record: dict[str, Any]) -> str:
    """The scenario's Gherkin steps, each with the commands it ran (expandable)."""
    parts = [STYLE, '<div class="xenlab xenlab-steps">']
    if record.get("failure"):
        parts.append(f'<p class="xenlab-failure"><b>{_("failed:")}</b> '
                     f'{escape(record["failure"])}</p>')
    parts += [hint_html(f) for f in record.get("failures") or () if f.get("hint")]
    for step in record["steps"]:
        colour = COLOURS.get(step["status"], "#666")
        parts.append(f'<details class="xenlab-step"{" open" if step["status"] == "failed" else ""}>'
                     f'<summary><span style="color:{colour};font-weight:bold">'
                     f'{escape(status_word(step["status"]))}</span> {escape(step["text"])} '
                     f'({_commands(len(step["commands"]))}'
                     + (_(", {n} planned").format(n=len(step["planned"])) if step.get("planned")
                        else "")
                     + ')</summary>')
        for c in step["commands"]:
            status = _("timed out") if c["rc"] is None else f"rc={c['rc']}"
            took = _("{status} in {seconds:.2f} s").format(status=status, seconds=c["duration_s"])
            parts.append(f'<div class="xenlab-cmd"><code>{escape(c["host"])}$ '
                         f'{escape(c["command"])}</code> {took}')
            for name in ("stdout", "stderr"):
                if c[name].strip():
                    parts.append(f"<details><summary>{name}</summary>"
                                 f"<pre>{escape(c[name].rstrip())}</pre></details>")
            parts.append("</div>")
        parts += [f'<div class="xenlab-cmd xenlab-planned"><code>{escape(p["host"])}$ '
                  f'{"<b>" + _("[destroys data]") + "</b> " if p["destructive"] else ""}{escape(p["line"])}'
                  '</code></div>' for p in step.get("planned", ())]
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def hint_html(failure: dict[str, Any]) -> str:
    """A failed check's hint: why it matters, the commands that fix it, the article's step."""
    hint = failure["hint"]
    fix = "".join(f"<li><code>{escape(c)}</code></li>" for c in hint["fix"])
    nothing = _("build mode would change nothing for this: see the article's step")
    return (f'<div class="xenlab-hint"><b>'
            f'{_("{host}: what to do").format(host=escape(failure["host"]))}</b> '
            f'<i>({escape(hint["why"])})</i>'
            + (f"<ol>{fix}</ol>" if fix else f"<p>{nothing}</p>")
            + f'<p>{_("article: {step}").format(step=escape(hint["step"]))}</p></div>')


def _commands(n: int) -> str:
    return ngettext("{n} command", "{n} commands", n).format(n=n)


def _page(title: str, body: str) -> str:
    lang = "" if language() == SOURCE else f' lang="{language().replace("_", "-")}"'
    return (f'<!DOCTYPE html><html{lang}><head><meta charset="utf-8"><title>{escape(title)}'
            f'</title></head><body style="font-family:sans-serif">{body}</body></html>')


def lab_page(entry: dict[str, Any]) -> str:
    """A lab's own report (class mode): the summary, then every scenario with its steps."""
    name = entry["lab"]["name"]
    body = [f"<h1>{_('xenlab: lab {name}').format(name=escape(name))}</h1>", summary_html(entry)]
    for test in entry["tests"]:
        body.append(f"<h3>{escape(status_word(test['outcome']))}: "
                    f"{escape(test['scenario'] or test['nodeid'])}</h3>{steps_html(test)}")
    return _page(_("xenlab lab {name}").format(name=name), "".join(body))


def class_page(document: dict[str, Any], links: dict[str, str]) -> str:
    """The class report: lab x stage, who is stuck where, each lab's report linked."""
    return _page(_("xenlab class report"), f'{STYLE}<div class="xenlab"><h1>{_("xenlab: class report")}'
                 f'</h1></div>{class_table(document, links)}')


def class_table(document: dict[str, Any], links: dict[str, str]) -> str:
    head = "".join(f"<th>{s.number}. {escape(stage_title(s))}</th>" for s in STAGES)
    rows = []
    for name, entry in sorted(document["labs"].items()):
        outcomes = r.stage_outcomes(entry["tests"])
        stuck = next((s for s in STAGES if outcomes.get(s.number) == "failed"), None)
        link = f'<a href="{escape(links[name])}">{escape(name)}</a>' if name in links else escape(name)
        cells = "".join(status_cell(outcomes.get(s.number, "not run")) for s in STAGES)
        where = _("stuck at stage {number}").format(number=stuck.number) if stuck else _("all run stages pass")
        rows.append(f"<tr><td>{link}</td>{cells}<td>{where}</td></tr>")
    return (f'{STYLE}<div class="xenlab"><table id="xenlab-class"><tr><th>{_("lab")}</th>{head}'
            f'<th>{_("where")}</th></tr>{"".join(rows)}</table></div>')
