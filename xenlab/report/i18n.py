"""The report's language (`--report-lang`): gettext over the catalogs in xenlab/locale.

Every fixed text a report shows goes through `_()` (and `ngettext()` for counts), marked
where it is written; the language is chosen once per run with `set_language()`. The data
stays English (stage titles in xenlab.stagelist, statuses, roles, the results JSON): what
is translated is the text drawn from it.

The catalogs are committed as gettext sources only, `xenlab/locale/<lang>/LC_MESSAGES/
xenlab.po` (package data of the wheel), and compiled at first use, in memory, into the
.mo form that Python's `gettext.GNUTranslations` reads: the same path works from a plain
checkout and from an installed wheel, no build step writes a .mo, and none can go stale
beside its .po. (`msgfmt` makes the same catalog; tests/test_i18n.py compares them.)
"""
from __future__ import annotations

import ast
import contextlib
import functools
import gettext
import io
import struct
from pathlib import Path

DOMAIN = "xenlab"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE = "en"  # the language the code is written in: no catalog

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = SOURCE


def _(text: str) -> str:
    return _current.gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def languages() -> tuple[str, ...]:
    """en, then every language with a catalog."""
    return (SOURCE, *sorted(p.parents[1].name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def language() -> str:
    return _language


def set_language(lang: str) -> None:
    """Switch the fixed texts to lang (en, zh_CN); an unknown one is a ValueError that says
    which there are."""
    global _current, _language
    if lang not in languages():
        raise ValueError(f"unknown report language {lang!r} (there are: {', '.join(languages())})")
    _current = gettext.NullTranslations() if lang == SOURCE else translations(lang)
    _language = lang


@contextlib.contextmanager
def using(lang: str):
    """The fixed texts in lang for a while (e.g. a picture that has no font for the run's)."""
    before = _language
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(compile_po(catalog_path(lang).read_text("utf-8"))))


# --- the .po source, read as msgfmt reads it ------------------------------------------

class PoEntry:
    """One message of a .po file: msgid (msgid_plural), msgstr (msgstr[n]), flags."""

    def __init__(self) -> None:
        self.msgctxt: str | None = None
        self.msgid = ""
        self.msgid_plural: str | None = None
        self.msgstr: dict[int, str] = {}
        self.flags: set[str] = set()
        self.line = 0

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def key(self) -> str:
        """The entry's key in a .mo: context EOT msgid NUL plural."""
        key = self.msgid if self.msgid_plural is None else f"{self.msgid}\0{self.msgid_plural}"
        return key if self.msgctxt is None else f"{self.msgctxt}\x04{key}"

    @property
    def value(self) -> str:
        return "\0".join(self.msgstr[n] for n in sorted(self.msgstr))


def read_po(text: str, name: str = "catalog") -> list[PoEntry]:
    """The entries of a .po file, the header (msgid "") first; obsolete (#~) ones left out.
    A line it cannot read is a ValueError naming the file and line."""
    entries: list[PoEntry] = []
    entry, field = PoEntry(), None

    def close() -> None:
        nonlocal entry, field
        if field is not None:
            entries.append(entry)
        entry, field = PoEntry(), None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                close()
            continue
        if line.startswith("#"):
            if field is not None and field.startswith("msgstr"):
                close()
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        word, _sep, rest = line.partition(" ")
        if line.startswith('"'):
            if field is None:
                raise ValueError(f"{name}:{number}: a string outside any msgid/msgstr")
            _append(entry, field, _unquote(line, name, number))
            continue
        if word in ("msgctxt", "msgid") and field is not None and field.startswith("msgstr"):
            close()
        if word == "msgctxt":
            field, entry.msgctxt = "msgctxt", _unquote(rest, name, number)
        elif word == "msgid":
            field, entry.msgid, entry.line = "msgid", _unquote(rest, name, number), number
        elif word == "msgid_plural":
            field, entry.msgid_plural = "msgid_plural", _unquote(rest, name, number)
        elif word == "msgstr":
            field, entry.msgstr[0] = "msgstr[0]", _unquote(rest, name, number)
        elif word.startswith("msgstr[") and word.endswith("]") and word[7:-1].isdigit():
            field = word
            entry.msgstr[int(word[7:-1])] = _unquote(rest, name, number)
        else:
            raise ValueError(f"{name}:{number}: cannot read {line[:60]!r}")
    close()
    return entries


def _append(entry: PoEntry, field: str, text: str) -> None:
    if field.startswith("msgstr"):
        entry.msgstr[int(field[7:-1])] += text
    elif field == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + text
    else:
        setattr(entry, field, getattr(entry, field) + text)


def _unquote(quoted: str, name: str, number: int) -> str:
    """A C string of a .po file ("...", with \\n \\t \\" \\\\)."""
    quoted = quoted.strip()
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise ValueError(f"{name}:{number}: not a quoted string: {quoted[:60]!r}")
    try:
        return ast.literal_eval(quoted)
    except (SyntaxError, ValueError):
        raise ValueError(f"{name}:{number}: not a quoted string: {quoted[:60]!r}") from None


def compile_po(text: str, name: str = "catalog") -> bytes:
    """The .mo (GNU gettext's binary catalog, little-endian, no hash table) of a .po's text:
    what `msgfmt` writes, fuzzy and untranslated entries left out as msgfmt leaves them."""
    kept = {e.key: e.value for e in read_po(text, name)
            if e.msgid == "" or (not e.fuzzy and all(e.msgstr.values()))}
    keys = sorted(kept)
    ids = [k.encode("utf-8") for k in keys]
    strs = [kept[k].encode("utf-8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n  # the header, then the two tables of (length, offset)
    table: list[int] = []
    blob = b""
    for data in (ids, strs):
        for item in data:
            table += [len(item), start + len(blob)]
            blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, start)
    return header + struct.pack(f"<{len(table)}I", *table) + blob
