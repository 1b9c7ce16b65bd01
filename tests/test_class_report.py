"""The class report on a class of 40 students (hand-made records, as a run of the suite
makes them): furthest behind first, a summary line, each student's first failure with its
hint, each lab's report linked; and in a real browser (headless Chromium) at 1366x768,
the table fits the window."""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from xenlab import report, results as r
from xenlab.checks import CheckFailure, Hint
from xenlab.stagelist import BY_NUMBER, STAGES, prerequisites

from .boxkit import browse, pixels_like
from .test_results import LAB, record

STUDENTS = 40
ORDER = [s.number for s in STAGES]


def check(n: int, stage: int) -> CheckFailure:
    """The failed check of student n's stage, with the hint the plugin gives it: the stage's
    why and article step, build mode's commands with the student's values as `host$ line`
    (none for stage 4: build mode cannot boot Xen)."""
    s, net = f"stu{n}", f"172.16.{n}"
    iqn = f"iqn.2015-02.com.stu{n}:t1"
    role, expected, seen, fix = {
        1: ("target", f"target {iqn} exported by tgtd", "tgtd is not running",
            ["service tgtd start", "chkconfig tgtd on"]),
        2: ("test2", f"a session to {iqn} at {net}.3:3260", "no session",
            [f"iscsiadm -m discovery -t st -p {net}.3",
             f"iscsiadm -m node -T {iqn} -p {net}.3 -l"]),
        3: ("test1", "/dev/sdb1: 2048 MiB, type 83, ext4", "/dev/sdb has no partition",
            ["parted -s /dev/sdb mklabel msdos mkpart primary ext4 1MiB 2049MiB",
             "mke2fs -t ext4 /dev/sdb1"]),
        4: ("test1", "xm info answers",
            "Error: Unable to connect to xend: No such file or directory. Is xend running?", []),
        5: ("test2", f"eth0 a port of bridge xenbr0, {net}.2/16 on xenbr0",
            f"eth0 holds {net}.2/16 and has no master <none>",
            ['echo BRIDGE="xenbr0" >> /etc/sysconfig/network-scripts/ifcfg-eth0',
             "printf 'DEVICE=xenbr0\\nTYPE=Bridge\\nBOOTPROTO=static\\n"
             f"IPADDR={net}.2\\nNETMASK=255.255.0.0\\nONBOOT=yes\\n' > "
             "/etc/sysconfig/network-scripts/ifcfg-xenbr0",
             "service NetworkManager stop", "service network restart"]),
        6: ("test2", "/scsistore/busybox.img, the file test1 has",
            "nothing mounted on /scsistore", ["mount /dev/sdb1 /scsistore"]),
        7: ("test2", "/etc/xen/busybox as on test1", "/etc/xen/busybox: no such file",
            [f"cat > /etc/xen/busybox <<'EOF' (the guest's configuration, {s}'s values)"]),
        8: ("test2", f"xend listening on {net}.2:8002", "nothing listens on port 8002",
            ["sed -i -e 's/^#*(xend-relocation-server .*)/(xend-relocation-server yes)/' -e "
             "'s/^#*(xend-relocation-port .*)/(xend-relocation-port 8002)/' "
             "/etc/xen/xend-config.sxp", "service xend restart"]),
        9: ("test1", f"busybox running on {s}-test2, answering at {net}.4",
            "busybox still on test1: Error: can't connect: Connection refused /"
            + "x" * 150, []),  # one long word: it must wrap, not widen the page
    }[stage]
    host = f"{s}-{role}"
    return CheckFailure(host, expected, seen, hint=Hint(
        BY_NUMBER[stage].why, tuple(f"{host}$ {line}" for line in fix), BY_NUMBER[stage].article))


def student(n: int, at: int | None | str = "") -> tuple[dict, int | None, int]:
    """Student n's lab entry, the stage it is stuck at (None: none) and the stages passed.
    Students 1 to 9 fail stage 1 to 9, 10 passes all, 11 and 12 fail stages 2 and 5, and
    round again (later stages that need the failed one are skipped); every 5th failure
    carries no hint, every 7th is an unreachable host (no check's data)."""
    at = (ORDER + [None, 2, 5])[(n - 1) % 12] if at == "" else at
    tests, passed = [], 0
    for stage in ORDER:
        if stage == at:
            rec = record(stage, "failed", failure=str(check(n, stage)))
            failed = check(n, stage)
            if n % 5 == 0:
                failed = CheckFailure(failed.host, failed.expected, failed.seen)
            rec["failures"] = [failed.data()]
            if n % 7 == 0:
                rec.update(failures=[], failed_host=f"stu{n}-target",
                           failure=f"stu{n}-target (172.16.{n}.3:22): no SSH answer within 10s")
        elif at is not None and at in prerequisites(stage):
            rec = record(stage, "skipped", blocked_by=at,
                         failure=f"stage {at} ({STAGES[at - 1].title})")
        else:
            rec = record(stage)
            passed += 1
        tests.append(rec)
    entry = {"lab": {**LAB, "name": f"stu{n}"}, "fingerprint": {}, "tests": tests}
    return entry, at, passed


def synthetic_class() -> tuple[dict, dict[str, tuple[int | None, int]]]:
    labs, where = {}, {}
    for n in range(1, STUDENTS + 1):
        labs[f"stu{n}"], *where[f"stu{n}"] = student(n)
    # student 12: every stage passes but the migration, skipped for a reason of its own
    labs["stu12"], *_ = student(12, at=None)
    skipped = labs["stu12"]["tests"][-1]
    skipped.update(outcome="skipped", failure="Xen 4.20 on stu12-test1 cannot send the "
                   "guest to Xen 4.17 on stu12-test2 (a move to an older release)")
    where["stu12"] = [9, 8]
    # student 3's record is from before the failures' data (an old results file)
    del labs["stu3"]["tests"][ORDER.index(where["stu3"][0])]["failures"]
    document = {"format": r.FORMAT, "labs": labs}
    return json.loads(json.dumps(document)), where  # as the results file holds it


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="xenlab-lab-(stu\d+)"', page)


def row(page: str, lab: str) -> str:
    return re.search(rf'<tr id="xenlab-lab-{lab}".*?</tr>', page, re.S).group(0)


def test_the_class_report_puts_the_students_furthest_behind_first():
    document, where = synthetic_class()
    page = report.class_page(document, {f"stu{n}": f"labs/stu{n}.html"
                                        for n in range(1, STUDENTS + 1)})
    expected = sorted(where, key=lambda lab: (where[lab][0] or 10, where[lab][1], int(lab[3:])))
    assert rows(page) == expected
    assert rows(page)[:4] == ["stu1", "stu13", "stu25", "stu37"]  # stuck at stage 1
    assert rows(page)[-3:] == ["stu10", "stu22", "stu34"]  # every stage passed
    # the summary: how many students at each stage, in the article's order
    summary = re.search(r'<p id="xenlab-class-summary">(.*?)</p>', page, re.S).group(1)
    counts = re.findall(r">(stage \d+: \d+|all run stages pass: \d+)<", summary)
    stuck = [where[lab][0] for lab in where]
    assert counts == [f"stage {n}: {stuck.count(n)}" for n in ORDER if n in stuck] + [
        f"all run stages pass: {stuck.count(None)}"]
    assert "<b>40 students</b>" in summary
    assert page.index('id="xenlab-class-summary"') < page.index('<table id="xenlab-class"')


def test_each_student_shows_the_first_failure_with_its_hint_and_a_link_to_the_lab():
    document, _ = synthetic_class()
    page = report.class_page(document, {f"stu{n}": f"labs/stu{n}.html"
                                        for n in range(1, STUDENTS + 1)})
    # stu2: stuck at stage 2 on stu2-test2, with the article's commands to fix it
    two = row(page, "stu2")
    assert '<a href="labs/stu2.html">stu2</a>' in two and "stuck at stage 2" in two
    assert ("<b>stage 2</b> (both Xen hosts log in to the target) on <b>stu2-test2</b>: "
            "expected a session to iqn.2015-02.com.stu2:t1 at 172.16.2.3:3260; saw no session"
            ) in two
    assert (f"<b>Why:</b> {escape(BY_NUMBER[2].why)} &mdash; <b>Article:</b> "
            f"{escape(BY_NUMBER[2].article)}") in two
    assert ("<b>Fix:</b><div><code>stu2-test2$ iscsiadm -m discovery -t st -p 172.16.2.3</code>"
            "<code>stu2-test2$ iscsiadm -m node -T iqn.2015-02.com.stu2:t1 -p 172.16.2.3 -l"
            "</code></div>") in two
    # a hint with no command (build mode cannot boot Xen): the article's step it is
    assert ("<b>Fix:</b><div>build mode would change nothing for this: see the article&#x27;s "
            "step</div>") in row(page, "stu4")
    # the stages: what passed, failed, was skipped because stage 2 failed
    signs = re.findall(r'<td class="cell (\w+)"', two)
    assert signs == ["passed", "failed", "skipped", "passed", "passed", "skipped", "skipped",
                     "passed", "skipped"]
    # a failure without a hint; an unreachable host (no check's data: its line); escaped
    five = row(page, "stu5")
    assert "saw eth0 holds 172.16.5.2/16 and has no master &lt;none&gt;" in five
    assert 'class="xenlab-hint"' not in five
    seven = row(page, "stu7")
    assert "<b>stage 7</b> (guest configuration on both hosts): stu7-target (172.16.7.3:22): " \
           "no SSH answer within 10s" in seven
    # an old record (no failures' data): its line; a stage skipped for its own reason
    three = row(page, "stu3")
    assert "stuck at stage 3" in three and (
        "(partition and filesystem on the shared disk): stu3-test1: expected /dev/sdb1: 2048 "
        "MiB, type 83, ext4; saw /dev/sdb has no partition") in three
    twelve = row(page, "stu12")
    assert "stuck at stage 9" in twelve and "skipped: Xen 4.20 on stu12-test1 cannot" in twelve
    # every stage passed: nothing to show
    assert re.search(r'all run stages pass</td>.*<td class="xenlab-first"></td>',
                     row(page, "stu10"), re.S)


PROBE = """<script>
const d = document.documentElement, table = document.getElementById("xenlab-class");
const wide = [...table.querySelectorAll("td, th")].filter(c => c.scrollWidth > c.clientWidth + 1);
document.body.setAttribute("data-probe", JSON.stringify({
  innerWidth: window.innerWidth, scrollWidth: d.scrollWidth,
  tableRight: table.getBoundingClientRect().right, rows: table.tBodies[0].rows.length,
  summaryBottom: document.getElementById("xenlab-class-summary").getBoundingClientRect().bottom,
  tableTop: table.getBoundingClientRect().top,
  wideCells: wide.map(c => c.textContent.slice(0, 60))}));
</script>"""


def test_forty_students_fit_a_1366_pixel_window_in_chromium(tmp_path: Path):
    document, _ = synthetic_class()
    page = report.class_page(document, {f"stu{n}": f"labs/stu{n}.html"
                                        for n in range(1, STUDENTS + 1)})
    html = tmp_path / "class-report.html"
    html.write_text(page.replace("</body>", PROBE + "</body>"))
    dom, shot = browse(html, tmp_path, height=768, width=1366)
    probe = json.loads(re.search(r'data-probe="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    assert probe["innerWidth"] == 1366 and probe["rows"] == STUDENTS, probe
    assert probe["scrollWidth"] <= probe["innerWidth"], f"the page scrolls sideways: {probe}"
    assert probe["tableRight"] <= probe["innerWidth"], probe
    assert probe["wideCells"] == [], f"cells whose text overflows: {probe['wideCells']}"
    assert probe["summaryBottom"] <= probe["tableTop"] < 768, probe  # summary first, on screen
    assert pixels_like(shot, (198, 40, 40)) > 2000, "no failed (red) cell on the first screen"
    assert pixels_like(shot, (46, 125, 50)) > 2000, "no passed (green) cell on the first screen"


def test_a_lab_of_which_no_stage_was_checked_says_so_last():
    """Plan mode checks nothing (every scenario skipped with the plan): not 'all pass'."""
    entry, *_ = student(1)
    planned = {**entry, "tests": [record(n, "skipped", failure="plan: 2 commands on stu9-test1")
                                  for n in ORDER]}
    document = {"format": r.FORMAT, "labs": {"stu9": planned, "stu1": entry}}
    page = report.class_page(document, {})
    assert rows(page) == ["stu1", "stu9"]
    assert "no stage checked</td>" in row(page, "stu9") and \
        '<td class="xenlab-first"></td>' in row(page, "stu9")
    assert ">stage 1: 1<" in page and ">no stage checked: 1<" in page
