"""A run's results as data: what the reports draw and what a regression run compares.

The plugin turns every test into a *record* (a JSON-able dict: lab, stage,
scenario, outcome, failure, the Gherkin steps with the commands each ran,
findings, migrations) and every lab into a *description* (hosts, roles,
addresses, guest) plus a *fingerprint* per host. `Results` gathers them
(on the xdist controller too: records travel on the reports, as `report.xenlab`)
and writes one JSON file, `reports/<run>/xenlab-results.json` by default, which a
later run reads with `--baseline`.

Everything here is pure: dicts in, dicts and lines out. One module per step of
that path: `records` (building them), `store` (gathering, the file), `views`
(what the reports draw), `compare` (regression mode).
"""
from xenlab.results.compare import Comparison, compare
from xenlab.results.records import (command_record, downtime_parts, failure_data,
                                    lab_description, migration_record, redact, secrets_of)
from xenlab.results.store import FORMAT, Results, ResultsError, load_results, write_results
from xenlab.results.views import (NOTHING_TO_DO, NOT_CHECKED, NOT_INVOLVED, OUTCOMES, TO_DO, Standing,
                                  class_standings, findings, first_failure, grid, migrations,
                                  plan, stage_outcomes, standing)

__all__ = ["FORMAT", "NOTHING_TO_DO", "NOT_CHECKED", "TO_DO", "NOT_INVOLVED", "OUTCOMES", "Comparison", "Results", "ResultsError",
           "Standing", "class_standings", "command_record", "compare", "downtime_parts",
           "failure_data", "findings",
           "first_failure", "grid", "lab_description", "load_results", "migration_record",
           "migrations", "plan", "redact", "secrets_of", "stage_outcomes", "standing",
           "write_results"]
