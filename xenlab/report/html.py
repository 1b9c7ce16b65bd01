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


def hint_why(why: str) -> str:
    """A hint's why in the report's language: the stage's sentence (xenlab.stagelist keeps it
    English in the results); a sentence the catalog does not know is shown as it is."""
    return _(why) if why else why  # gettext's "" is the catalog's header


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
                 "before it finished checking this host").format(host=host,
                                                                 failed=_(", ").join(failed))
    return _("not checked on {host}: the stage stopped at its first failure before it "
             "finished checking this host").format(host=host)


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
        f"<td>{_ms(m['resolution_s'])}</td><td>{_seconds(m.get('guest_paused_s'))}</td>"
        f"<td>{_seconds(m.get('paused_s'))}</td>"
        f"<td>{_seconds(m.get('unreachable_beyond_pause_s'), signed=True)}</td></tr>"
        for m in moves)
    head = "".join(f"<th>{word}</th>" for word in (
        _("guest"), _("move"), _("migration"), _("downtime"), _("probes lost"),
        _("probe resolution"), _("paused (its heartbeat)"), _("suspended (xl's log)"),
        _("unreachable beyond the pause")))
    return f'<table id="xenlab-migrations"><tr>{head}</tr>{rows}</table>' + timeline_html(moves)


def _downtime(seconds: float | None) -> str:
    return _("no reply after it") if seconds is None else f"{seconds:.2f} s"


def _seconds(seconds: float | None, signed: bool = False) -> str:
    return "-" if seconds is None else f"{seconds:+.2f} s" if signed else f"{seconds:.2f} s"


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
            f'<i>({escape(hint_why(hint["why"]))})</i>'
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


CLASS_STYLE = """
<style>
.xenlab-class p { margin: 0.3em 0; }
#xenlab-class-summary { font-size: 110%; }
#xenlab-class-summary .xenlab-chip { display: inline-block; margin: 1px 4px 1px 0; padding: 1px 6px;
  border-radius: 3px; color: #fff; white-space: nowrap; }
.xenlab-legend { color: #444; font-size: 90%; }
#xenlab-class { width: 100%; table-layout: fixed; }
#xenlab-class col.xenlab-col-lab { width: 6.5em; }
#xenlab-class col.xenlab-col-at { width: 8.5em; }
#xenlab-class col.xenlab-col-stage { width: 1.9em; }
#xenlab-class th { position: sticky; top: 0; background: #fff; }
#xenlab-class th.xenlab-stage, #xenlab-class td.cell { text-align: center; padding: 3px 0; }
#xenlab-class td { vertical-align: top; overflow-wrap: anywhere; }
#xenlab-class tbody tr:nth-child(even) td:not(.cell) { background: #f7f7f7; }
#xenlab-class tr.xenlab-next td { border-top: 2px solid #777; }
#xenlab-class .xenlab-hint { margin-top: 3px; padding-left: 6px; border-left: 3px solid #ef6c00;
  font-size: 92%; }
#xenlab-class .xenlab-fix { display: flex; gap: 0.4em; }
#xenlab-class .xenlab-fix > div { flex: 1; min-width: 0; }
#xenlab-class code { display: block; white-space: pre-wrap; overflow-wrap: anywhere;
  background: #eef; margin: 1px 0; padding: 0 3px; }
</style>
"""
# The class table's stage cells: a sign, besides the colour, and the word in the title.
SIGNS = {"passed": "\u2713", "failed": "\u2717", "skipped": "\u2013", "not run": "\u00b7"}


def class_page(document: dict[str, Any], links: dict[str, str]) -> str:
    """The class report: who is stuck where (furthest behind first), each student's first
    failure with its hint, each lab's own report linked."""
    return _page(_("xenlab class report"),
                 f'{STYLE}<div class="xenlab"><h1>{escape(_("xenlab: class report"))}'
                 f'</h1></div>{class_table(document, links)}')


def class_table(document: dict[str, Any], links: dict[str, str]) -> str:
    """A summary line (how many students are stuck at each stage), then lab x stage, one
    lab a row, furthest behind first (`results.class_standings`), with its first failure."""
    standings = r.class_standings(document)
    rows = []
    for i, st in enumerate(standings):
        name = escape(st.lab)
        link = f'<a href="{escape(links[st.lab])}">{name}</a>' if st.lab in links else name
        cells = "".join(_stage_sign(s.number, st.outcomes.get(s.number, "not run"))
                        for s in STAGES)
        next_group = ' class="xenlab-next"' if i and standings[i - 1].at != st.at else ""
        rows.append(f'<tr id="xenlab-lab-{name}"{next_group}><td>{link}</td>'
                    f'<td class="xenlab-at">{escape(_where(st))}</td>{cells}'
                    f'<td class="xenlab-first">{_first_failure_html(st.first)}</td></tr>')
    head = "".join(f'<th class="xenlab-stage" title="{s.number}. {escape(stage_title(s))}">{s.number}'
                   f'</th>' for s in STAGES)
    cols = ('<colgroup><col class="xenlab-col-lab"><col class="xenlab-col-at">'
            + '<col class="xenlab-col-stage">' * len(STAGES) + '<col></colgroup>')
    return (f'{STYLE}{CLASS_STYLE}<div class="xenlab xenlab-class">{_class_summary(standings)}'
            f'{_class_legend()}<table id="xenlab-class">{cols}<thead><tr>'
            f'<th>{escape(_("student"))}</th><th>{escape(_("where"))}</th>{head}'
            f'<th>{escape(_("first failure"))}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _where(st: r.Standing) -> str:
    if not st.outcomes:
        return _("no stage checked")
    if st.at is None:
        return _("all run stages pass")
    return _("stuck at stage {number}").format(number=st.at)


def _class_summary(standings: list[r.Standing]) -> str:
    """One line: how many students, and how many are stuck at each stage (article order)."""
    count: dict[int | None, int] = {}
    unchecked = sum(1 for st in standings if not st.outcomes)
    for st in standings:
        if st.outcomes:
            count[st.at] = count.get(st.at, 0) + 1
    chips = [f'<span class="xenlab-chip" style="background:{COLOURS["failed"]}" '
             f'title="{n}. {escape(stage_title(BY_NUMBER[n]))}">'
             + escape(_("stage {number}: {count}").format(number=n, count=count[n]))
             + "</span>" for n in sorted(k for k in count if k is not None)]
    if None in count:
        chips.append(f'<span class="xenlab-chip" style="background:{COLOURS["passed"]}">'
                     + escape(_("all run stages pass: {count}").format(count=count[None]))
                     + "</span>")
    if unchecked:
        chips.append(f'<span class="xenlab-chip" style="background:{COLOURS["not run"]}">'
                     + escape(_("no stage checked: {count}").format(count=unchecked))
                     + "</span>")
    students = ngettext("{count} student", "{count} students", len(standings)).format(
        count=len(standings))
    return (f'<p id="xenlab-class-summary"><b>{escape(students)}</b>, '
            f'{escape(_("stuck at:"))} {" ".join(chips)}</p>')


def _class_legend() -> str:
    order = _("Furthest behind first: by the first stage, in the article's order, that did "
              "not pass, then by the stages passed.")
    signs = " ".join(f'<span style="color:{COLOURS[o]};font-weight:bold">{SIGNS[o]}</span> '
                     f'{escape(status_word(o))}' for o in SIGNS)
    stages = "; ".join(f"{s.number} {escape(stage_title(s))}" for s in STAGES)
    return (f'<p class="xenlab-legend">{escape(order)} {signs}.<br>'
            f'{escape(_("Stages:"))} {stages}.</p>')


def _stage_sign(number: int, outcome: str) -> str:
    title = f"{number}. {stage_title(BY_NUMBER[number])}: {status_word(outcome)}"
    return (f'<td class="cell {escape(outcome.replace(" ", "-"))}" '
            f'style="background:{COLOURS.get(outcome, "#666")}" title="{escape(title)}">'
            f'{SIGNS.get(outcome, "?")}</td>')


def _first_failure_html(first: dict[str, Any] | None) -> str:
    """Stage, host, expected and seen (else the one line); the hint when there is one: why,
    the commands that fix it, the article's step."""
    if first is None:
        return ""
    stage = BY_NUMBER[first["stage"]]
    parts = [f'<b>{escape(_("stage {number}").format(number=stage.number))}</b> '
             f'({escape(stage_title(stage))})']
    if first["outcome"] == "skipped":
        parts.append(" " + escape(_("skipped: {why}")).format(why=escape(first["line"])))
    elif first["expected"] is not None:
        parts.append(" " + escape(_("on {host}: expected {expected}; saw {seen}")).format(
            host=f"<b>{escape(first['host'])}</b>", expected=escape(first["expected"]),
            seen=escape(first["seen"])))
    else:
        parts.append(f": {escape(first['line'])}")
    hint = first.get("hint")
    if hint:
        parts.append(f'<div class="xenlab-hint"><div><b>{escape(_("Why:"))}</b> '
                     f'{escape(hint_why(hint.get("why") or ""))}')
        if hint.get("step"):
            parts.append(f' &mdash; <b>{escape(_("Article:"))}</b> {escape(hint["step"])}')
        parts.append("</div>")
        fix = ("".join(f"<code>{escape(c)}</code>" for c in hint.get("fix") or ())
               or escape(_("build mode would change nothing for this: see the article's "
                           "step")))
        parts.append(f'<div class="xenlab-fix"><b>{escape(_("Fix:"))}</b><div>{fix}</div></div>')
        parts.append("</div>")
    return "".join(parts)
