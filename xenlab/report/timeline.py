"""The migration timeline: each probe reply over time, the gap, drawn with matplotlib
(imported only when a run has a migration to draw) as an inline PNG."""
from __future__ import annotations

import base64
import functools
import io
import shutil
import subprocess
from typing import Any

from xenlab.report.i18n import SOURCE, _, language, using


def timeline_png(moves: list[dict[str, Any]]) -> bytes:
    """One panel per migration: each probe reply (time, round trip), the gap, start and end."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fonts = _fonts_for(language())
    if fonts is None:  # no font for the language's glyphs: English labels, not boxes
        with using(SOURCE):
            return _draw(plt, moves)
    with plt.rc_context({"font.family": fonts} if fonts else {}):
        return _draw(plt, moves)


def _draw(plt, moves: list[dict[str, Any]]) -> bytes:
    fig, axes = plt.subplots(len(moves), 1, figsize=(9, 2.6 * len(moves)), squeeze=False)
    for ax, m in zip(axes[:, 0], moves):
        points = m["timeline"]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=2, color="#1565c0",
                   label=_("probe reply (round trip)"))
        ax.axvline(0, color="#555", linestyle="--", linewidth=1,
                   label=_("migration start / end"))
        ax.axvline(m["wall_s"], color="#555", linestyle="--", linewidth=1)
        if m["gap_start"] is not None and m["gap_end"] is not None:
            ax.axvspan(m["gap_start"], m["gap_end"], color="#c62828", alpha=0.25,
                       label=_("gap {seconds:.2f} s").format(seconds=m["downtime_s"]))
        phases = m.get("phases") or {}
        if phases.get("suspended") is not None and phases.get("resumed") is not None:
            # xl's own account: from the guest's suspend to its start on the destination
            ax.axvspan(phases["suspended"], phases["resumed"], ymin=0.0, ymax=0.12,
                       color="#ef6c00", alpha=0.8, label=_(
                           "suspended (xl's log) {seconds:.2f} s").format(
                               seconds=phases["resumed"] - phases["suspended"]))
        if phases.get("copy_start") is not None and phases.get("suspended") is not None:
            ax.axvspan(phases["copy_start"], phases["suspended"], ymin=0.0, ymax=0.06,
                       color="#2e7d32", alpha=0.6, label=_("live memory copy"))
        ax.set_title(_("{guest}: {source} -> {destination}, migration {seconds:.1f} s").format(
            guest=m["guest"], source=m["source"], destination=m["destination"],
            seconds=m["wall_s"]), fontsize=10)
        rtts = sorted(p[1] for p in points)
        if rtts:  # a few replies queued behind the pause would flatten the rest
            ax.set_ylim(0, max(rtts[int(len(rtts) * 0.99)] * 2, 1.0))
        ax.set_xlabel(_("seconds since the migration started"))
        ax.set_ylabel(_("round trip (ms)"))
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


@functools.cache
def _fonts_for(lang: str) -> list[str] | None:
    """matplotlib's font families for the language: [] for English (its default), else its
    own sans-serif font then the font fontconfig has for the language's script (matplotlib
    falls back glyph by glyph along a list of families, not along a generic one's; its font
    cache may predate a font the setup step installed, so the file is added to it); None
    when there is no such font."""
    if lang == SOURCE:
        return []
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        found = subprocess.run([fc_list, f":lang={lang.replace('_', '-').lower()}", "file"],
                               capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(f.rstrip(":") for f in found if f.rstrip(":").endswith((".ttf", ".ttc", ".otf")))
    if not files:
        return None
    from matplotlib import font_manager, rcParams

    font_manager.fontManager.addfont(files[0])
    return [*rcParams["font.sans-serif"][:1], font_manager.FontProperties(fname=files[0]).get_name()]


def timeline_html(moves: list[dict[str, Any]]) -> str:
    data = base64.b64encode(timeline_png(moves)).decode()
    alt = _("migration timeline: probe replies over time")
    return (f'<img id="xenlab-timeline" alt="{alt}" '
            f'src="data:image/png;base64,{data}" style="max-width:100%">')
