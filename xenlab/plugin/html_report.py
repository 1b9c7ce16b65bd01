"""The pytest-html report: a lab run writes one by default (reports/<run>/lab-report.html,
self-contained); the lab's summary goes on top, each scenario's Gherkin steps with
their commands in its row."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from xenlab import report as html
from xenlab.plugin.state import SECTIONS_AS_HTML, STATE
from xenlab.plugin.rundir import run_dir
from xenlab.report.i18n import _
from xenlab.suite import is_lab_run


@pytest.hookimpl(tryfirst=True)  # before pytest-html reads --html
def pytest_configure(config: pytest.Config) -> None:
    if (hasattr(config.option, "htmlpath") and not config.option.htmlpath
            and not hasattr(config, "workerinput") and not config.option.collectonly
            and is_lab_run(config)):
        config.option.htmlpath = str(run_dir(config) / "lab-report.html")
        config.option.self_contained_html = True


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session):
    """A run in which no test ran (a usage error, --collect-only, an error while collecting)
    writes no report: it would replace the last real one with an empty page. Withdrawn
    here, before the session's end, where pytest-html writes it."""
    try:
        return (yield)
    finally:
        state = session.config.stash.get(STATE, None)
        if state is not None and not state.tests_ran:
            _withdraw_report(session.config)


def _withdraw_report(config: pytest.Config) -> None:
    if not getattr(config.option, "htmlpath", None):
        return
    from pytest_html.basereport import BaseReport  # here: pytest-html is optional

    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, BaseReport):
            config.pluginmanager.unregister(plugin)


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(prefix: list, summary: list, postfix: list,
                                session: pytest.Session) -> None:
    state = session.config.stash[STATE]
    comparison = state.comparison.lines() if state.comparison is not None else None
    document = state.results.document()
    if len(document["labs"]) > 1:
        prefix.append(html.class_table(document, {}))
    for entry in document["labs"].values():
        prefix.append(html.summary_html(entry, comparison))


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report) -> None:
    report.title = _("xenlab: Xen live-migration lab report")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_html(report: pytest.TestReport, data: list) -> None:
    """The record's steps, each with its commands, in place of the sections that say the
    same as text: the plugin noted which sections those are, and pytest-html's own
    formatting tells which entries of `data` they became."""
    record = next((v for k, v in getattr(report, "xenlab", ()) if k == "xenlab"), None)
    if record is None:
        return
    ours = set(getattr(report, SECTIONS_AS_HTML, ()))
    drawn = [section for i, section in enumerate(report.sections) if i in ours]
    if drawn:
        from pytest_html.basereport import _process_logs  # here: pytest-html is optional

        as_text = _process_logs(SimpleNamespace(longreprtext="", outcome="", sections=drawn))
        data[:] = [d for d in data if d not in as_text]
    data.insert(1 if report.failed and data else 0, html.steps_html(record))
