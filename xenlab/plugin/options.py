"""The plugin's command-line options and the markers it declares (one per stage, from
xenlab.stagelist, so that --strict-markers catches a mistyped Gherkin tag)."""
from __future__ import annotations

import argparse

import pytest

from xenlab.live.diskdata import GuestDataError, check_dir
from xenlab.report import i18n
from xenlab.stagelist import marker_lines
from xenlab.suite import INVENTORY_DEST, inventory_option, is_lab_run, suite_dir


_HANDLER = "xenlab_inventory"


def _merge_inventory_options(container, action, conflicting) -> None:
    """argparse's conflict handler for option groups made after xenlab's: an option for
    the Ansible inventory (dest ansible_inventory) that another plugin also defines takes
    the name over, as argparse's "resolve" does; any other clash stays an error.

    Three plugins name the inventory: testinfra (--ansible-inventory), pytest-ansible
    (--inventory, --ansible-inventory) and xenlab (--inventory), all for the same value.
    Without this, pytest with pytest-ansible installed beside testinfra does not start
    (argparse: "conflicting option string"; pytest-testinfra issue #58)."""
    if action.dest == INVENTORY_DEST and all(a.dest == INVENTORY_DEST for _, a in conflicting):
        return container._handle_conflict_resolve(action, conflicting)
    return container._handle_conflict_error(action, conflicting)


def _at_least_one(what: str):
    """An option's type: a whole number of `what`, at least 1 (--migration-rounds, -load)."""
    def whole(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"expected {what} >= 1, got {text!r}")
        return int(text)
    return whole


def _guest_dir(text: str) -> str:
    """--guest-data's type: a directory of the guest, typed in its console."""
    try:
        return check_dir(text)
    except GuestDataError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--guest-data: ")) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    # Groups made from now on (testinfra's, pytest-ansible's, ours) merge the inventory
    # options; the checkout's pytest.ini and `xenlab run` load xenlab first (-p).
    if not hasattr(argparse._ActionsContainer, f"_handle_conflict_{_HANDLER}"):
        setattr(argparse._ActionsContainer, f"_handle_conflict_{_HANDLER}",
                _merge_inventory_options)
    parser.optparser.conflict_handler = _HANDLER
    group = parser.getgroup("xenlab", "xenlab lab")
    group.addoption("--lab-mode", choices=("verify", "build", "plan"), default="verify",
                    help="verify: read only (default); build: steps may change the hosts; "
                         "plan: read only, list what build would change as the commands it "
                         "would run (reports/<run>/xenlab-plan.json)")
    group.addoption("--allow-destructive", action="store_true",
                    help="let build mode partition and format the shared disk")
    group.addoption("--inventory", dest=INVENTORY_DEST, metavar="PATH",
                    help="the lab's Ansible inventory (same as --ansible-inventory)")
    group.addoption("--migration-data", metavar="PATH",
                    help="where the migrations' figures and probe timelines go, as JSON "
                         "(default: reports/<run>/xenlab-migrations.json)")
    group.addoption("--migration-rounds", type=_at_least_one("a whole number of rounds"), metavar="N",
                    help="run stage 9's scenario outline N times (round 1..N: N ping-pongs, "
                         "the guest there and back each round); the terminal adds each "
                         "figure's median and max over the moves")
    group.addoption("--migration-load", type=_at_least_one("whole MiB per second"), metavar="MIB_S",
                    help="during each migration the guest rewrites MIB_S MiB of its memory "
                         "every second (a memory-dirtying load, at most a quarter of its "
                         "memory); the figures say the rate it reached, to set beside an idle "
                         "run's")
    group.addoption("--guest-data", type=_guest_dir, metavar="DIR",
                    help="check that what the guest writes to its disk is kept across each "
                         "migration: it writes in DIR (a directory of the guest on a disk of "
                         "its own, mounted read-write; the check's two files are removed "
                         "after) where both Xen hosts may write that disk (a block device, or "
                         "a file on gfs2/ocfs2), and refuses in one line otherwise; stage 9 "
                         "then runs its data outline instead of the plain one")
    group.addoption("--migration-one-way", action="store_true",
                    help="where Xen cannot migrate the guest back (the destination runs a newer "
                         "release, as halfway through a rolling upgrade), move it to the "
                         "destination and leave it there; without it nothing moves then")
    group.addoption("--ssh-insecure", action="store_true",
                    help="accept any SSH host key (in memory only; never written)")
    group.addoption("--results", metavar="PATH",
                    help="the run's results as JSON, for a later --baseline "
                         "(default: reports/<run>/xenlab-results.json; reports/latest is the "
                         "last run's folder)")
    group.addoption("--class-report", metavar="PATH",
                    help="class mode (an inventory of several labs): the lab x stage report, "
                         "each lab's own report beside it in labs/ "
                         "(default: reports/<run>/class-report.html)")
    group.addoption("--baseline", metavar="PATH",
                    help="the --results file of an earlier run: report what changed, and "
                         "exit non-zero when a stage or a migration figure regressed")
    group.addoption("--hazards", choices=("warn", "fail"), default="warn",
                    help="what a hazard of the lab does (it works, but is unsafe: ext4 "
                         "mounted read-write on both hosts, a target open to any initiator "
                         "or without CHAP, relocation open to any host or without SSL, a "
                         "vif without a fixed MAC): warn (default) or fail its step")
    group.addoption("--report-lang", metavar="LANG", default=i18n.SOURCE,
                    help="the language of the reports' text (HTML report, lab and class "
                         f"pages): {', '.join(i18n.languages())} (default: %(default)s); "
                         "the results JSON and the terminal stay English")
    group.addoption("--baseline-tolerance", metavar="FRACTION", type=float, default=0.5,
                    help="how much worse a migration figure may be before it is a "
                         "regression (default: %(default)s, i.e. 50 %%)")


def pytest_configure(config: pytest.Config) -> None:
    _choose_the_report_language(config)
    for line in marker_lines():
        config.addinivalue_line("markers", line)
    _collect_the_suite_where_pytest_guessed_wrong(config)
    # Live progress of long steps (the logger xenlab.progress, with the time of day) in a
    # lab run, normal or verbose; -q is pytest's quiet output. Set before pytest's logging
    # plugin reads it (its pytest_configure is trylast).
    if (config.option.verbose >= 0 and getattr(config.option, "log_cli_level", None) is None
            and is_lab_run(config)):
        config.option.log_cli_level = "INFO"
        if not (config.option.log_cli_format or config.getini("log_cli_format")):
            config.option.log_cli_format = "%(asctime)s %(message)s"
            config.option.log_cli_date_format = "%H:%M:%S"


def _choose_the_report_language(config: pytest.Config) -> None:
    """--report-lang for this run's reports; an unknown language stops it in one line."""
    try:
        i18n.set_language(config.getoption("report_lang", i18n.SOURCE))
    except ValueError as exc:
        raise pytest.UsageError(f"--report-lang: {exc}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    i18n.set_language(i18n.SOURCE)  # the next run in this process (pytester) starts in English


def _collect_the_suite_where_pytest_guessed_wrong(config: pytest.Config) -> None:
    """`pytest --inventory PATH` (a space, not `=`) in a checkout: pytest settles its
    rootdir and settings before any plugin's options are known, so it takes PATH for a
    directory to run in, finds no settings there, and would collect the whole checkout
    (the project's own tests too). A run that names its inventory that way, with no
    settings and no test paths, collects the suite instead; `--inventory=PATH` and
    `xenlab run` never get here."""
    inventory = inventory_option(config)
    suite = suite_dir()
    if (inventory and suite is not None and config.inipath is None
            and config.args_source is pytest.Config.ArgsSource.INVOCATION_DIR
            # the guess: the inventory given as a word of its own, which pytest took for
            # a path when it settled its rootdir (a rootdir above the checkout, or beside)
            and inventory in config.invocation_params.args):
        config.args = [str(suite)]
