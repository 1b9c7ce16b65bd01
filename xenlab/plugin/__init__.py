"""pytest plugin: the lab and its hosts as fixtures, stage order and skips, evidence in reports.

Loaded from conftest.py (`pytest_plugins = ["xenlab.plugin"]`). This package holds
no hook itself: each module below is registered as a plugin of its own (pytest
loads the `pytest_plugins` of a plugin module), so every hook keeps its marks
(wrapper, tryfirst, trylast, optionalhook) and no hook is registered twice.
Options are added to testinfra's (--hosts, --ansible-inventory,
--ssh-identity-file ... are reused, not re-registered); --hazards=fail makes the
lab's hazards fail (the `hazards_fail` fixture).
"""
from xenlab.plugin.labs import NO_LAB, lab_scope

pytest_plugins = [
    "xenlab.plugin.state",  # the run's state, the stash keys
    "xenlab.plugin.options",  # command-line options, markers
    "xenlab.plugin.labs",  # which labs, class mode, the xdist scheduler
    "xenlab.plugin.order",  # stage order, skips for failed prerequisites
    "xenlab.plugin.fixtures",  # lab, hosts, roles, evidence, build/migration logs
    "xenlab.plugin.gherkin",  # each scenario's steps as they run
    "xenlab.plugin.recording",  # what a test ran and saw, on its reports
    "xenlab.plugin.outputs",  # terminal summary, results JSON, baseline, class report
    "xenlab.plugin.html_report",  # the pytest-html report
    "xenlab.plugin.rundir",  # reports/<run>/ and reports/latest
]

__all__ = ["NO_LAB", "lab_scope"]
