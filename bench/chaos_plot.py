"""One PNG per scenario: per system, the call share of each target over time (top) and the
latency of every request by send time (bottom), fault windows shaded."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from bench.chaos_metrics import Snapshot, shares  # noqa: E402
from bench.load import Sample  # noqa: E402


def plot(path: Path, scenario: str, runs: dict[str, tuple[list[Sample], list[Snapshot]]], targets: list[str],
         windows: dict[str, list[tuple[float, float]]]) -> Path:
    """Write the figure to ``path`` and return it."""
    fig, axes = plt.subplots(2, len(runs), figsize=(7 * len(runs), 7), sharex=True, squeeze=False)
    for col, (name, (samples, snaps)) in enumerate(runs.items()):
        top, bottom = axes[0][col], axes[1][col]
        for target in targets:
            series = shares(snaps, target)
            top.plot([t for t, _ in series], [v for _, v in series], label=target, linewidth=1.2)
        ok = [s for s in samples if s.reply]
        bottom.scatter([s.at for s in ok], [s.latency_s * 1000 for s in ok], s=3, alpha=0.4, label="answered")
        bad = [s for s in samples if s.error]
        if bad:
            bottom.scatter([s.at for s in bad], [s.latency_s * 1000 for s in bad], s=12, c="red", marker="x",
                           label="user-visible failure")
        for ax in (top, bottom):
            for spans in windows.values():
                for start, end in spans:
                    ax.axvspan(start, end, color="grey", alpha=0.15)
        top.set_title(f"{scenario}: {name}")
        top.set_ylabel("share of provider calls (2 s window)")
        top.set_ylim(-0.02, 1.02)
        bottom.set_ylabel("request latency (ms)")
        bottom.set_yscale("log")
        bottom.set_xlabel("seconds since start (grey: scripted faults)")
        top.legend(fontsize=7, loc="center right")
        bottom.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
