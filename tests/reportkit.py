"""A results document with every part a report draws (a failed stage with a host it never
reached, a skipped one, both kinds of finding and a free one, migrations with and without
a downtime, steps of every status, a timed-out command), for the report's language tests."""
from __future__ import annotations

import copy

from xenlab import results as r
from xenlab.checks import Finding, RebootFinding

from .test_results import BOX_PRINT, LAB, migration, record

HAZARD = Finding("test1", "ext4 on /dev/sdb1 is mounted read-write on test1 and test2",
                 "two kernels writing one ext4 corrupt it", "mount it on one host at a time")
REBOOT = RebootFinding("test2", "the iSCSI session to iqn.2013-01.com.example:lun",
                       "after a reboot the guest's disk is gone",
                       "iscsiadm -m node -T iqn.2013-01.com.example:lun --op update "
                       "-n node.startup -v automatic")
FREE = "test1 runs Xen 4.17.5, test2 runs Xen 4.20.1: migration may still work"


def entry_with_everything() -> dict:
    tests = [record(1, hosts=("target",)),
             record(2, "failed", hosts=("test1",), failure="Then it holds: test1: expected a "
                    "session; saw none", failed_host="test1"),
             record(3, "skipped", blocked_by=2),
             record(4), record(5),
             record(9, migrations=[migration(), migration(downtime=None)])]
    tests[1]["failures"] = [{"host": "test1", "expected": "a session", "seen": "none",
                             "text": "", "hint": None, "line": "test1: expected a session; saw none"}]
    tests[3]["findings"] = [HAZARD.line(), REBOOT.line(), FREE]
    tests[3]["steps"].insert(0, {"text": "Given the lab is built", "status": "build only",
                                 "commands": []})
    tests[3]["steps"].append({"text": "Then nothing", "status": "not run", "commands": []})
    tests[4]["steps"][0]["commands"][0].update(rc=None, stderr="no answer\n")
    tests[4]["fingerprint"] = None
    return {"lab": LAB, "fingerprint": {"target": {**BOX_PRINT, "xen": None}, "test1": BOX_PRINT,
                                        "test2": BOX_PRINT}, "tests": tests}


def doc_of_two() -> dict:
    stuck = entry_with_everything()
    healthy = copy.deepcopy(stuck)
    healthy["tests"] = [record(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9)]
    return {"format": r.FORMAT, "labs": {"alice": healthy, "bob": stuck}}
