"""The reports' language (--report-lang, xenlab/report/i18n.py): every text the code marks is
in the Chinese catalog and translated, the catalog compiles as msgfmt compiles it, the
Chinese report says the fixed text in Chinese and the English one is as it was, an
unknown language is a usage error of one line, and Chromium draws every Chinese character
of the catalog with a glyph of its own (no missing-glyph boxes)."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from xenlab import report
from xenlab.report import i18n
from xenlab.stagelist import STAGES

from .reportkit import doc_of_two, entry_with_everything
from .test_plugin import LOCAL_LAB, RECORDED

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "report_en"
ZH = i18n.catalog_path("zh_CN")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch, tmp_path) -> pytest.Pytester:
    """A lab run inside pytester, this machine as the lab (no network, no box)."""
    monkeypatch.setenv("XENLAB_STATE", str(tmp_path))
    pytester.makeconftest('pytest_plugins = ["xenlab.plugin"]')
    pytester.makefile(".ini", lab=LOCAL_LAB)
    return pytester


@pytest.fixture
def zh_CN():
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


@pytest.fixture
def no_timeline(monkeypatch):
    """The timeline's PNG (matplotlib's drawing, compared elsewhere) as a stand-in."""
    monkeypatch.setattr("xenlab.report.html.timeline_html",
                        lambda moves: f'<img id="xenlab-timeline" alt="{len(moves)} moves">')


def marked_texts() -> set[str | tuple[str, str]]:
    """Every text the code hands to _() or ngettext() (a plural as its two forms), and the
    stage titles and why sentences, which the report translates as data
    (report.html.stage_title, hint_why)."""
    found: set[str | tuple[str, str]] = {s.title for s in STAGES} | {s.why for s in STAGES}
    for path in sorted((ROOT / "xenlab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext")):
                continue
            texts = node.args[:1 if node.func.id == "_" else 2]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if node.func.id == "_" and path.name == "html.py" and (
                    isinstance(texts[0], ast.Attribute) and texts[0].attr == "title"
                    or isinstance(texts[0], ast.Name) and texts[0].id == "why"):
                continue  # stage_title(), hint_why(): the stages' data, added above
            assert all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts), (
                f"{where}: {node.func.id}() of something other than a string literal: no "
                "catalog can hold it")
            found.add(texts[0].value if len(texts) == 1 else (texts[0].value, texts[1].value))
    return found


def catalog(path: Path = ZH) -> dict:
    return {(e.msgid if e.msgid_plural is None else (e.msgid, e.msgid_plural)): e
            for e in i18n.read_po(path.read_text("utf-8"), str(path)) if e.msgid}


def test_every_marked_text_is_in_the_chinese_catalog_translated_and_nothing_else_is():
    marked, entries = marked_texts(), catalog()
    assert len(marked) > 50  # the scan found the report's texts
    assert sorted(map(str, marked - set(entries))) == [], "not in the catalog"
    assert sorted(map(str, set(entries) - marked)) == [], "in the catalog, used nowhere"
    for key, entry in entries.items():
        assert not entry.fuzzy, f"fuzzy: {key}"
        assert entry.msgstr and all(s.strip() for s in entry.msgstr.values()), f"untranslated: {key}"
        ids = [key] if isinstance(key, str) else list(key)
        for text in entry.msgstr.values():
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(ids[-1])), (
                f"placeholders differ: {key} -> {text}")
            assert re.search(r"[\u4e00-\u9fff]", text) or not re.search(
                r"[A-Za-z]", PLACEHOLDER.sub("", text)), f"English left: {text!r} ({key})"


def test_the_catalog_compiles_as_msgfmt_compiles_it(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("no msgfmt (Debian's gettext): the comparison with GNU gettext needs it")
    mo = tmp_path / "xenlab.mo"
    checked = subprocess.run([msgfmt, "--check", "-o", str(mo), str(ZH)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0 and not checked.stderr, checked.stderr
    import gettext
    with mo.open("rb") as f:
        assert gettext.GNUTranslations(f)._catalog == i18n.translations("zh_CN")._catalog


def test_a_po_file_is_read_as_msgfmt_reads_it(tmp_path):
    """Continued strings, escapes, plurals, a context; fuzzy and empty entries left out."""
    po = '''msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

# a comment
#, python-brace-format
msgid "a \\"quoted\\" "
"line"
msgstr "eine \\"zitierte\\"\\tZeile"

msgid "{n} host"
msgid_plural "{n} hosts"
msgstr[0] "{n} Host"
msgstr[1] "{n} Hosts"

msgctxt "grid"
msgid "passed"
msgstr "bestanden"

#, fuzzy
msgid "guessed"
msgstr "geraten"

msgid "left empty"
msgstr ""
#~ msgid "gone"
#~ msgstr "weg"
'''
    import gettext
    import io
    ours = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(po)))
    assert ours.gettext('a "quoted" line') == 'eine "zitierte"\tZeile'
    assert [ours.ngettext("{n} host", "{n} hosts", n) for n in (1, 2)] == ["{n} Host", "{n} Hosts"]
    assert ours.pgettext("grid", "passed") == "bestanden" and ours.gettext("passed") == "passed"
    assert ours.gettext("guessed") == "guessed" and ours.gettext("left empty") == "left empty"
    assert ours.gettext("gone") == "gone"
    if msgfmt := shutil.which("msgfmt"):
        (tmp_path / "t.po").write_text(po)
        subprocess.run([msgfmt, "-o", str(tmp_path / "t.mo"), str(tmp_path / "t.po")], check=True)
        with (tmp_path / "t.mo").open("rb") as f:
            assert gettext.GNUTranslations(f)._catalog == ours._catalog
    with pytest.raises(ValueError, match=r"^bad\.po:2: cannot read 'msgstx"):
        i18n.read_po('msgid "x"\nmsgstx "y"\n', "bad.po")


def test_an_unknown_language_says_which_there_are():
    with pytest.raises(ValueError, match=r"^unknown report language 'xx' \(there are: en, zh_CN\)$"):
        i18n.set_language("xx")
    assert i18n.language() == "en"


def test_the_english_report_is_as_it_was(no_timeline):
    """English is the code's own text: the pages are those the code drew before it had a
    catalog (tests/report_en, written then from tests/reportkit.py's document)."""
    entry = entry_with_everything()
    assert report.summary_html(entry, ["REGRESSION lab box: stage 2", "figures    migration"]) \
        == (GOLDEN / "summary.html").read_text()
    assert report.lab_page(entry) == (GOLDEN / "lab.html").read_text()
    assert report.class_page(doc_of_two(), {"alice": "labs/alice.html"}) \
        == (GOLDEN / "class.html").read_text()


class _Texts(HTMLParser):
    """What a reader sees of a page: its text and its title= and alt= attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.texts += [v for k, v in attrs if k in ("title", "alt") and v]

    def handle_data(self, data) -> None:
        if data.strip():
            self.texts.append(data.strip())


def shown_texts(page: str) -> list[str]:
    parser = _Texts()
    parser.feed(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
    return parser.texts


def leftover_english(page: str) -> list[str]:
    """The catalog's English that a page still shows: a text that is one of the marked texts
    (a word: a whole text or table cell), or a sentence part of two words or more between
    their placeholders."""
    texts = shown_texts(page)
    everything = "\n".join(texts)
    left = set()
    for key in marked_texts():
        for msgid in ([key] if isinstance(key, str) else key):
            parts = [p.strip(" .:,();") for p in PLACEHOLDER.split(msgid)]
            if (len(parts) == 1 and parts[0] in texts) or any(
                    len(p.split()) >= 2 and p in everything for p in parts):
                left.add(msgid)
    return sorted(left)


def test_the_chinese_lab_page_names_the_stages_in_chinese_and_keeps_no_fixed_english(
        zh_CN, no_timeline):
    entry = entry_with_everything()
    page = report.lab_page(entry)
    assert page.startswith('<!DOCTYPE html><html lang="zh-CN">')
    grid = re.search(r'<table id="xenlab-grid">.*?</table>', page, re.S)[0]
    for n, title in ((1, "iSCSI 目标端导出 LUN"), (2, "两台 Xen 主机登录到 iSCSI 目标端"),
                     (9, "实时迁移")):
        assert f"<td>{n}. {title}</td>" in grid
    assert ">失败</td>" in grid and ">未检查</td>" in grid and ">不涉及</td>" in grid
    assert "title=\"test2 未检查：该阶段在第一处失败（test1）时就已停止，没有检查完这台主机\"" in grid
    assert "<h3>实验环境 box：阶段 × 主机</h3>" in page
    assert "仅构建</span> Given the lab is built (0 条命令)" in page
    assert "超时，用时 0.10 s" in page
    assert "(迁移前)" in page and "(迁移后)" in page and "客户机 busybox 198.51.100.4" in page
    # the findings: the fixed sentences translated, the check's parts as the check said them
    assert ("test1：ext4 on /dev/sdb1 is mounted read-write on test1 and test2。为什么要紧："
            "two kernels writing one ext4 corrupt it。安全的做法：mount it on one host at a time。"
            in page)
    assert ("test2：重启后 the iSCSI session to iqn.2013-01.com.example:lun 不会自动恢复。" in page
            and "修复方法：iscsiadm -m node -T iqn.2013-01.com.example:lun --op update" in page)
    assert "test1 runs Xen 4.17.5, test2 runs Xen 4.20.1: migration may still work" in page
    assert leftover_english(page) == []
    # data stays as it is: host names, commands, versions, the Gherkin steps
    for kept in ("test1$ true", "6.1.0-50-amd64", "Then it holds", "127.0.0.1:2202"):
        assert kept in unescape(page)


def test_a_hint_and_a_plan_read_in_chinese_around_their_own_words(zh_CN):
    """The labels of a failed check's hint and of plan mode's steps are the report's, and so is
    a stage's why sentence; another sentence and the commands are the check's and build
    mode's (English, as they are)."""
    from .test_results import record
    failed = record(2, "failed", hosts=("test1",), failure="test1: expected a session; saw none")
    hint = {"why": "no session, no shared disk", "fix": ["test1$ iscsiadm -m node --login"],
            "step": "一.2 iSCSI客户端的安装和配置"}
    failed["failures"] = [{"host": "test1", "expected": "a session", "seen": "none", "text": "",
                           "hint": hint, "line": "test1: expected a session; saw none"}]
    failed["steps"][0].update(status="planned", planned=[
        {"host": "test1", "line": "mkfs.ext4 /dev/sdb1", "destructive": True}])
    page = report.steps_html(failed)
    assert "<b>test1：下一步怎么做</b> <i>(no session, no shared disk)</i>" in page
    assert "<li><code>test1$ iscsiadm -m node --login</code></li>" in page
    assert "<p>文章步骤：一.2 iSCSI客户端的安装和配置</p>" in page
    assert "已计划</span> Given a step (1 条命令，计划 1 条)" in page
    assert "<b>[会销毁数据]</b> mkfs.ext4 /dev/sdb1" in page
    assert leftover_english(page) == []
    hint["fix"] = []
    assert "<p>构建模式对此不会做任何改动：请参看文章中的对应步骤</p>" in report.steps_html(failed)
    hint["why"] = STAGES[1].why  # a stage's own sentence: the catalog has it
    assert "<i>(没有会话的 Xen 主机看不到共享磁盘，" in report.steps_html(failed)


def test_the_chinese_class_page_says_who_is_stuck_where_in_chinese(zh_CN):
    page = report.class_page(doc_of_two(), {"alice": "labs/alice.html"})
    assert "<title>xenlab 全班报告</title>" in page and 'title="1. iSCSI 目标端导出 LUN">1</th>' in page
    assert ">卡在第 2 阶段</td>" in page and ">已运行的阶段全部通过</td>" in page
    assert ': 未运行">' in page and ': 失败">' in page  # bob ran no stage 6 to 8
    assert "<b>第 2 阶段</b>" in page and "应为 a session；实际为 none" in page
    assert leftover_english(page) == []


def test_the_english_page_would_be_caught_with_english_left(no_timeline):
    """The check above can fail: the English page shows the catalog's English."""
    left = leftover_english(report.lab_page(entry_with_everything()))
    assert "iSCSI target exports the LUN" in left and "not checked" in left
    assert "{host}: {what}. Why it matters: {why}. Safe instead: {safe}." in left


def _fonts_for_chinese() -> str:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ""
    return subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True,
                          timeout=30).stdout.strip().replace("\n", "; ")


def test_the_timeline_draws_chinese_labels_with_a_font_that_has_them_or_english(zh_CN):
    """matplotlib warns of every glyph its font lacks: none, whichever way it drew; with a
    Chinese font on the machine it drew the Chinese labels."""
    import warnings

    from xenlab.report.timeline import _fonts_for, timeline_png
    from .test_results import migration

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = timeline_png([migration()])
    assert not [str(w.message) for w in caught if "missing from font" in str(w.message)]
    with i18n.using("en"):
        english = timeline_png([migration()])
    drew_chinese = _fonts_for("zh_CN") is not None
    assert (png != english) == drew_chinese
    assert drew_chinese or not _fonts_for_chinese()


def test_report_lang_translates_the_html_report_of_a_run_and_the_next_run_is_english(suite):
    suite.makepyfile(test_lab=RECORDED)
    result = suite.runpytest("--inventory=lab.ini", "--report-lang=zh_CN", "--html=report.html")
    result.assert_outcomes(failed=2, skipped=1)
    html = unescape((suite.path / "report.html").read_text())
    assert "xenlab：Xen 实时迁移实验报告" in html
    assert "<td>1. iSCSI 目标端导出 LUN</td>" in html and "<h3>实验环境 lab：阶段 × 主机</h3>" in html
    assert i18n.language() == "en"  # reset at the run's end: pytester runs in this process
    suite.runpytest("--inventory=lab.ini", "--html=en.html").assert_outcomes(failed=2, skipped=1)
    assert "<td>1. iSCSI target exports the LUN</td>" in unescape(
        (suite.path / "en.html").read_text())


def test_an_unknown_report_language_is_a_one_line_usage_error(suite):
    suite.makepyfile(test_lab="def test_needs_lab(lab): pass")
    result = suite.runpytest("--inventory=lab.ini", "--report-lang=xx")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line] == [
        "ERROR: --report-lang: unknown report language 'xx' (there are: en, zh_CN)"]
    assert not (suite.path / "reports").exists()


# --- the Chinese report in a real browser ---------------------------------------------

CELL = 40  # px: one character a cell
COLUMNS = 20
INK = 0.6  # a pixel darker than this (0 black .. 1 white) is ink


def catalog_characters() -> list[str]:
    """Every character of the Chinese catalog outside ASCII: the ideographs and the
    full-width punctuation the report shows."""
    text = "".join(s for e in catalog().values() for s in e.msgstr.values())
    return sorted({c for c in text if ord(c) > 0x7F})


def glyph_page(chars: list[str]) -> str:
    """Each character alone in a cell of fixed size, in the report's font (sans-serif)."""
    spans = "".join(f'<span class="c">{c}</span>' for c in chars)
    return ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
            'body{margin:0;background:#fff;font-family:sans-serif}'
            f'div{{width:{CELL * COLUMNS}px;line-height:0}}'
            f'.c{{display:inline-block;width:{CELL}px;height:{CELL}px;font-size:{CELL * 3 // 4}px;'
            f'line-height:{CELL}px;text-align:center;overflow:hidden;color:#000}}'
            f'</style></head><body><div>{spans}</div></body></html>')


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("no chromium (Debian's): `apt-get install chromium`; make test installs it")
    return found


def screenshot(page: Path, png: Path, width: int, height: int, env: dict | None = None) -> Path:
    import os
    taken = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", f"--user-data-dir={png.parent / 'chromium-profile'}",
         f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    assert taken.returncode == 0 and png.is_file(), f"no screenshot: {taken.stderr[-800:]}"
    return png


def glyph_problems(png: Path, chars: list[str]) -> list[str]:
    """What is wrong with the cells of a glyph page's screenshot: a blank cell (nothing drawn)
    or cells that look alike (a missing glyph is drawn as the same box, whatever the
    character). Each cell is cut to its ink, so a box that moves a pixel still matches."""
    import matplotlib.image
    import numpy

    image = matplotlib.image.imread(png)[:, :, :3].mean(axis=2)
    seen: dict[bytes, str] = {}
    problems = []
    for i, char in enumerate(chars):
        row, col = divmod(i, COLUMNS)
        cell = image[row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL] < INK
        ys, xs = numpy.nonzero(cell)
        if not len(ys):
            problems.append(f"{char} (U+{ord(char):04X}): blank")
            continue
        ink = cell[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        key = bytes(numpy.packbits(ink)) + bytes(str(ink.shape), "ascii")
        if key in seen:
            problems.append(f"{char} (U+{ord(char):04X}) drawn as {seen[key]} is")
        seen.setdefault(key, char)
    return problems


def render_glyphs(tmp_path: Path, name: str, env: dict | None = None) -> tuple[Path, list[str]]:
    chars = catalog_characters()
    page = tmp_path / f"{name}.html"
    page.write_text(glyph_page(chars), encoding="utf-8")
    rows = -(-len(chars) // COLUMNS)
    return screenshot(page, tmp_path / f"{name}.png", CELL * COLUMNS, CELL * rows + 20, env), chars


def test_chromium_draws_every_chinese_character_of_the_catalog_with_a_glyph_of_its_own(tmp_path):
    png, chars = render_glyphs(tmp_path, "glyphs")
    assert len(chars) > 100
    problems = glyph_problems(png, chars)
    assert problems == [], (f"{len(problems)} of {len(chars)} characters without a glyph of "
                            f"their own ({png}); fonts for Chinese here: "
                            f"{_fonts_for_chinese() or 'none'} (make setup installs "
                            "fonts-wqy-microhei): " + "; ".join(problems[:10]))


def test_the_glyph_check_sees_boxes_where_fontconfig_has_no_chinese_font(tmp_path):
    """The same page, Chromium's fontconfig told of one Latin font folder only: the check
    above must find the characters drawn as boxes (or not at all)."""
    latin = next((d for d in ("/usr/share/fonts/truetype/dejavu",
                              "/usr/share/fonts/truetype/liberation") if Path(d).is_dir()), None)
    if latin is None:
        pytest.skip("neither DejaVu nor Liberation fonts here, for a Latin-only fontconfig")
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                      f"<fontconfig><dir>{latin}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir>"
                      "</fontconfig>")
    png, chars = render_glyphs(tmp_path, "latin-only", {"FONTCONFIG_FILE": str(config)})
    problems = "\n".join(glyph_problems(png, chars))
    ideographs = [c for c in chars if "\u4e00" <= c <= "\u9fff"]
    # all drawn as one box: the first box is the one the others repeat
    assert sum(f"{c} (U+" in problems for c in ideographs) >= len(ideographs) - 1, problems


def test_the_chinese_lab_page_renders_in_chromium(tmp_path, zh_CN, no_timeline):
    """The lab's own page in Chinese, as a person sees it (kept in tmp_path)."""
    page = tmp_path / "lab-zh.html"
    page.write_text(report.lab_page(entry_with_everything()), encoding="utf-8")
    png = screenshot(page, tmp_path / "lab-zh.png", 1000, 900)
    import matplotlib.image
    image = matplotlib.image.imread(png)[:, :, :3]
    assert image.shape[:2] == (900, 1000) and (image.mean(axis=2) < INK).sum() > 5000
