#!/usr/bin/env python3
"""Draws bench_cache's CSVs (OUT/memory.csv, OUT/ppl.csv) into OUT/cache.png: cache bytes over
the stream per policy (left) and perplexity per window per policy (right).

    python3 bench/cache/plot_cache.py OUT_DIR

Exits 0 with a note when matplotlib is missing (the CSVs are the result; the plot is a view)."""
import csv
import sys
from collections import defaultdict


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  plot: skipped (python3 has no matplotlib)")
        return 0
    mem, ppl = defaultdict(list), defaultdict(list)
    for r in read(f"{out}/memory.csv"):
        mem[r["policy"]].append((int(r["tokens"]), int(r["cache_bytes"]) / 2**20,
                                 int(r["rss_bytes"]) / 2**20))
    for r in read(f"{out}/ppl.csv"):
        ppl[f'{r["policy"]} (budget {r["budget"]})' if r["budget"] != "0" else r["policy"]].append(
            (int(r["window_end"]), float(r["ppl"])))
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, pts in mem.items():
        a.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{name}: cache")
        a.plot([p[0] for p in pts], [p[2] for p in pts], "--", label=f"{name}: process RSS")
    a.set_xlabel("tokens streamed")
    a.set_ylabel("MiB")
    a.set_title("memory while streaming")
    a.legend(fontsize=8)
    for name, pts in ppl.items():
        b.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=name)
    b.set_xlabel("tokens (window end)")
    b.set_ylabel("perplexity per window")
    b.set_yscale("log")
    b.set_title("perplexity over the stream")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(f"{out}/cache.png", dpi=110)
    print(f"  plot: {out}/cache.png")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: plot_cache.py OUT_DIR")
    sys.exit(main(sys.argv[1]))
