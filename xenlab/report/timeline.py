"""The migration timeline: each probe reply over time, the gap, drawn with matplotlib
(imported only when a run has a migration to draw) as an inline PNG."""
from __future__ import annotations

import base64
import io
from typing import Any


def timeline_png(moves: list[dict[str, Any]]) -> bytes:
    """One panel per migration: each probe reply (time, round trip), the gap, start and end."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(len(moves), 1, figsize=(9, 2.6 * len(moves)), squeeze=False)
    for ax, m in zip(axes[:, 0], moves):
        points = m["timeline"]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=2, color="#1565c0",
                   label="probe reply (round trip)")
        ax.axvline(0, color="#555", linestyle="--", linewidth=1, label="migration start / end")
        ax.axvline(m["wall_s"], color="#555", linestyle="--", linewidth=1)
        if m["gap_start"] is not None and m["gap_end"] is not None:
            ax.axvspan(m["gap_start"], m["gap_end"], color="#c62828", alpha=0.25,
                       label=f"gap {m['downtime_s']:.2f} s")
        ax.set_title(f"{m['guest']}: {m['source']} -> {m['destination']}, "
                     f"migration {m['wall_s']:.1f} s", fontsize=10)
        rtts = sorted(p[1] for p in points)
        if rtts:  # a few replies queued behind the pause would flatten the rest
            ax.set_ylim(0, max(rtts[int(len(rtts) * 0.99)] * 2, 1.0))
        ax.set_xlabel("seconds since the migration started")
        ax.set_ylabel("round trip (ms)")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


def timeline_html(moves: list[dict[str, Any]]) -> str:
    data = base64.b64encode(timeline_png(moves)).decode()
    return (f'<img id="xenlab-timeline" alt="migration timeline: probe replies over time" '
            f'src="data:image/png;base64,{data}" style="max-width:100%">')
