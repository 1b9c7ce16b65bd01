"""The reports' language (xenlab/report/i18n.py): a catalog's .po source is read and
compiled as GNU gettext's msgfmt does it."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from xenlab.report import i18n


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
