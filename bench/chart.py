"""Draws bench/results/latest.json (written by `npm run bench`) as a PNG.

Usage: python bench/chart.py <latest.json> <out.png>

Two panels, one row per scenario, grouped by job and coloured by implementation: throughput as
a ratio to the same-run Envoy baseline (whiskers: min-max over the rounds), and the gateway
Envoy's CPU time per request. Needs matplotlib (scripts/install-tools.sh puts it in
.tools/venv).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

COLORS = {"reference": "#9e9e9e", "ours": "#3b6fd4", "go": "#00a3c4", "rust": "#ce6a2b", "native": "#3f9b4f"}
LABELS = {
    "reference": "reference",
    "ours": "ours (AssemblyScript)",
    "go": "Go (wasip1)",
    "rust": "Rust (proxy-wasm SDK)",
    "native": "Envoy native (C++)",
}


def main(src: str, out: str) -> None:
    with open(src) as f:
        data = json.load(f)
    scenarios = data["scenarios"]
    rows = {r["scenario"]: r for r in data["rows"]}
    meta = data["meta"]

    # Top to bottom in scenario order, a gap between families.
    ys, labels, order = [], [], []
    y, family = 0.0, None
    for s in scenarios:
        if family is not None and s["family"] != family:
            y += 0.6
        family = s["family"]
        ys.append(-y)
        labels.append(s["name"])
        order.append(s)
        y += 1

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.42 * len(order) + 2.2), sharey=True)
    for ax in (ax1, ax2):
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)

    colors = [COLORS[s["impl"]] for s in order]
    ratio = [rows[s["name"]].get("rpsRatio", 0) for s in order]
    base_rps = next((rows[s["name"]]["rps"] for s in order if s["name"] == "envoy-baseline"), None)
    lo = [max(0.0, ratio[i] - rows[s["name"]]["rpsMin"] / base_rps) for i, s in enumerate(order)] if base_rps else None
    hi = [max(0.0, rows[s["name"]]["rpsMax"] / base_rps - ratio[i]) for i, s in enumerate(order)] if base_rps else None
    ax1.barh(ys, ratio, color=colors, xerr=[lo, hi] if lo else None, error_kw={"ecolor": "#444", "capsize": 2, "lw": 0.8})
    ax1.axvline(1.0, color="#333", lw=0.8, ls="--")
    # Labels go past the whisker, so the two never overlap.
    ends = [r + (hi[i] if hi else 0) for i, r in enumerate(ratio)]
    for yy, r, end, s in zip(ys, ratio, ends, order):
        ax1.text(end + max(ends) * 0.015, yy, f"{r:.2f}  ({rows[s['name']]['rps']:.0f}/s)", va="center", fontsize=8)
    ax1.set_title("Throughput — higher is better", fontsize=10)
    ax1.set_xlabel("req/s ÷ envoy-baseline (median; whiskers: min–max of the rounds)")
    ax1.set_xlim(0, max(ends) * 1.3)

    cpu_us = [rows[s["name"]]["cpuPer10k"] / 10_000 * 1e6 for s in order]
    ax2.barh(ys, cpu_us, color=colors)
    base_cpu = next((rows[s["name"]]["cpuPer10k"] / 10_000 * 1e6 for s in order if s["name"] == "envoy-baseline"), None)
    if base_cpu:
        ax2.axvline(base_cpu, color="#333", lw=0.8, ls="--")
    for yy, c, s in zip(ys, cpu_us, order):
        cpu_ratio = rows[s["name"]].get("cpuRatio")
        text = f"{c:.0f} µs" + (f"  (×{cpu_ratio:.2f})" if cpu_ratio and s["impl"] != "reference" else "")
        ax2.text(c + max(cpu_us) * 0.01, yy, text, va="center", fontsize=8)
    ax2.set_title("Envoy CPU per request — lower is better", fontsize=10)
    ax2.set_xlabel("µs (× envoy-baseline); upstream-direct: the upstream's CPU")
    ax2.set_xlim(0, max(cpu_us) * 1.3)

    ax1.set_yticks(ys)
    ax1.set_yticklabels(labels, fontsize=9)
    shown = {s["impl"] for s in order}
    handles = [Patch(color=COLORS[k], label=LABELS[k]) for k in ("ours", "go", "rust", "native", "reference") if k in shown]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    settings = meta["settings"]
    fig.suptitle(
        f"Portico filters vs Envoy native, Go and Rust — Envoy {meta['envoy']}, --concurrency {settings['envoyConcurrency']}, "
        f"wrk {settings['connections']} connections, {settings['rounds']} x {settings['durationSec']} s per scenario\n"
        f"{meta['machine']} — {meta['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
