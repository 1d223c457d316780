#!/usr/bin/python3
"""The handoff suite through the real daemons (BENCH.md `handoff`, LCF.md): every mode on the
same committed episodes in one run, then the handoff latency against the sharer's context length.

    bench/run handoff [--quick] [--n N] [--splits test,heldout]
                      [--families facts,multi_fact,passkey,shared_facts]
                      [--lengths 256,512,1024,2048,4096] [--reps 3] [--reverse]

Starts `cachewire up` on a generated config (the two shipped agents, the adapters found in
models/adapters/), opens one sharer session per episode and, per mode, a fresh receiver session
holding the receiver's own context; then Handoff(mode) and a greedy answer to the question.
C2C runs on the shared-context episodes only (shared_facts: the receiver's context is the
sharer's, as a fusion needs); its accuracy is on those. TEXT_SUMMARY runs last on each sharer
session, since the summary it writes becomes part of that session.
Latency is from the Handoff request to the receiver's first answer token; bytes are the router's
bytes_moved. Accuracy is exact match (tools/suite/score.py). Last line, for scripts:
  handoff: split=heldout none=A text_context=A text_summary=A c2c=A lcf=A lcf_ms=T
           text_summary_ms=T text_context_ms=T lcf_bytes=N c2c_bytes=N
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "suite"))
sys.path.insert(0, HERE)
import episodes  # noqa: E402
import score  # noqa: E402
from local_stack import LocalStack  # noqa: E402

MODES = ("NONE", "TEXT_CONTEXT", "TEXT_SUMMARY", "C2C", "LCF")
# The order modes run in on one sharer session: TEXT_SUMMARY adds its summary to the session.
RUN_ORDER = ("NONE", "TEXT_CONTEXT", "C2C", "LCF", "TEXT_SUMMARY")
# Sessions bounded so that they take pins and stream contexts past the agents' 512 positions;
# budget + slack fill those positions, and budget 448 never evicts an episode's own context.
BOUNDED = {"bounded": True, "budget": 448, "slack": 64, "window": 256}


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


class Runner:
    def __init__(self, stack: LocalStack, sharer: str, receiver: str):
        self.s, self.sharer, self.receiver = stack, sharer, receiver
        self.pb = stack.pb

    def session(self, agent: str, text) -> str:
        """A bounded session holding `text`: one string, or pieces appended one request each
        (as a sharer was given them, so that a SentencePiece agent spells them the same way)."""
        sid = self.s.call("CreateSession", self.pb.CreateSessionRequest(
            agent=agent, policy=self.pb.CachePolicy(**BOUNDED))).session_id
        for piece in [text] if isinstance(text, str) else text:
            self.s.call("Append", self.pb.AppendRequest(session_id=sid, text=piece))
        return sid

    def close(self, sid: str) -> None:
        self.s.call("CloseSession", self.pb.CloseSessionRequest(session_id=sid))

    def handoff_and_answer(self, sharer_sid: str, receiver_ctx: str, question: str, mode: str):
        """(answer text, ms from Handoff to the first answer token, bytes moved) or None when
        the mode is not available (its gRPC error is returned instead)."""
        rsid = self.session(self.receiver, receiver_ctx)
        try:
            req = self.pb.HandoffRequest(from_session_id=sharer_sid, to_session_id=rsid,
                                         mode=getattr(self.pb, f"HANDOFF_MODE_{mode}"))
            if mode == "TEXT_SUMMARY":
                req.summary_prompt, req.summary_max_tokens = " Summary:", 160
            t0 = time.perf_counter()
            try:
                moved = self.s.call("Handoff", req)
            except self.s.grpc.RpcError as e:
                return e
            gen = self.pb.GenerateRequest(session_id=rsid, text=f" Question: {question} Answer:",
                                          sampling=self.pb.SamplingParams(max_tokens=24, temperature=0,
                                                                          stop=["\n"]))
            text, first = "", None
            for msg in self.s.stream("Generate", gen):
                if msg.HasField("tokens"):
                    if first is None:
                        first = time.perf_counter()
                    text += msg.tokens.text
            split = (moved.export_ms, moved.transfer_ms, moved.import_ms)
            return text, 1000.0 * ((first or time.perf_counter()) - t0), moved.bytes_moved, split
        finally:
            self.close(rsid)


def run_split(r: Runner, split: str, families: list[str], n: int) -> dict:
    path = os.path.join(ROOT, "tools", "suite", "data", f"{split}.jsonl")
    eps = [e for e in episodes.load_episodes(path) if e.family in families]
    per_fam: dict[str, list] = {f: [] for f in families}
    for e in eps:
        if len(per_fam[e.family]) < n:
            per_fam[e.family].append(e)
    rows = {m: [] for m in MODES}
    unavailable: dict[str, str] = {}
    for fam, chosen in per_fam.items():
        for e in chosen:
            ssid = r.session(r.sharer, e.sharer_context)
            try:
                for mode in RUN_ORDER:
                    if mode in unavailable or (mode == "C2C" and not e.shared_context):
                        continue
                    out = r.handoff_and_answer(ssid, e.receiver_context, e.question, mode)
                    if isinstance(out, Exception):
                        unavailable[mode] = f"{out.code().name}: {out.details()}"
                        continue
                    text, ms, nbytes, split = out
                    rows[mode].append((fam, score.exact_match(text, e.answer), ms, nbytes, split))
            finally:
                r.close(ssid)
    return {"rows": rows, "unavailable": unavailable}


def summarize(split: str, res: dict, families: list[str]) -> tuple[list[str], dict]:
    lines = [f"split={split}", f"| mode | " + " | ".join(families) +
             " | all | ms p50 | ms p95 | bytes p50 | export / transfer / import ms p50 |",
             "|---" * (len(families) + 6) + "|"]
    figures = {}
    for mode in MODES:
        rows = res["rows"][mode]
        if not rows:
            lines.append(f"| {mode} | " + " | ".join("-" for _ in families) +
                         f" | - | - | - | - | - |  ({res['unavailable'].get(mode, 'no rows')})")
            continue
        accs = []
        for fam in families:
            hits = [r[1] for r in rows if r[0] == fam]
            accs.append(f"{100.0 * sum(hits) / len(hits):.1f}% (n={len(hits)})" if hits else "-")
        acc = 100.0 * sum(r[1] for r in rows) / len(rows)
        ms = [r[2] for r in rows]
        nb = [r[3] for r in rows]
        parts = " / ".join(f"{statistics.median(r[4][i] for r in rows):.1f}" for i in range(3))
        figures[mode] = (acc, statistics.median(ms), statistics.median(nb))
        lines.append(f"| {mode} | " + " | ".join(accs) + f" | {acc:.1f}% | {statistics.median(ms):.1f} | "
                     f"{percentile(ms, 0.95):.1f} | {statistics.median(nb):.0f} | {parts} |")
    shared = {m: [r for r in res["rows"][m] if r[0] == "shared_facts"] for m in MODES}
    if shared["C2C"]:
        acc = {m: 100.0 * sum(r[1] for r in rows) / len(rows) for m, rows in shared.items() if rows}
        line = "shared-context episodes: " + ", ".join(f"{m} {a:.1f}%" for m, a in acc.items())
        if shared["LCF"]:
            ratio = statistics.median(r[3] for r in shared["LCF"]) / statistics.median(r[3] for r in shared["C2C"])
            line += f"; LCF bytes / C2C bytes = {ratio:.3f}"
        lines.append(line)
    return lines, figures


def latency_curve(r: Runner, lengths: list[int], reps: int) -> list[str]:
    """Handoff latency per mode against the sharer's context length (tokens, counted by the
    sharer's worker), on corpus-like filler; the question and accuracy do not matter here. The
    receiver holds "Nothing yet ." except for C2C, whose receiver holds the sharer's text (its
    prefill is not part of the handoff), and the bytes each latent mode moves."""
    filler = episodes.default_filler("test")(random.Random(5))
    modes = ("LCF", "C2C", "TEXT_CONTEXT", "TEXT_SUMMARY")
    lines = ["| sharer tokens | " + " | ".join(f"{m} ms p50" for m in modes)
             + " | LCF vs TEXT_SUMMARY | LCF vs TEXT_CONTEXT | LCF bytes | C2C bytes |", "|---" * 9 + "|"]
    words: list[str] = []
    for L in lengths:
        pieces = ["The records follow ."]
        ssid = r.session(r.sharer, pieces[0])
        try:
            have = 0
            while have < L:   # grow in chunks, reading the true token count back
                while len(words) < 400:
                    words += next(filler).split()
                chunk, words = " " + " ".join(words[:200]), words[200:]
                r.s.call("Append", r.pb.AppendRequest(session_id=ssid, text=chunk))
                pieces.append(chunk)
                have = r.s.call("GetSession", r.pb.GetSessionRequest(session_id=ssid)).stats.cache.n_past
            med, nbytes = {}, {}
            for mode in modes:
                ms = []
                for _ in range(reps):
                    ctx = pieces if mode == "C2C" else "Nothing yet ."
                    out = r.handoff_and_answer(ssid, ctx, "What is the code ?", mode)
                    if isinstance(out, Exception):
                        break
                    ms.append(out[1])
                    nbytes[mode] = out[2]
                med[mode] = statistics.median(ms) if ms else float("nan")
            lines.append(f"| {have} | " + " | ".join(f"{med[m]:.1f}" for m in modes) + " | "
                         f"{med['TEXT_SUMMARY'] / med['LCF']:.1f}x faster | {med['TEXT_CONTEXT'] / med['LCF']:.1f}x faster | "
                         f"{nbytes.get('LCF', 0)} | {nbytes.get('C2C', 0)} |")
        finally:
            r.close(ssid)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=30, help="episodes per family and split")
    ap.add_argument("--splits", default="test,heldout")
    ap.add_argument("--families", default="facts,multi_fact,passkey,shared_facts")
    ap.add_argument("--lengths", default="256,512,1024,2048,4096")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--reverse", action="store_true", help="cw-gemma3 shares, cw-llama receives")
    args = ap.parse_args()
    if args.quick:
        args.n, args.splits, args.lengths, args.reps = 4, "heldout", "256,1024", 1
    families = args.families.split(",")
    agents = ("coder", "planner") if args.reverse else ("planner", "coder")
    with LocalStack(ROOT, args.build) as stack:
        r = Runner(stack, *agents)
        print(f"sharer {agents[0]} -> receiver {agents[1]}; adapters: {', '.join(stack.adapters) or 'none'}")
        last = None
        for split in args.splits.split(","):
            lines, figures = summarize(split, run_split(r, split, families, args.n), families)
            print("\n".join(lines), flush=True)
            last = (split, figures)
        print("\nhandoff latency against the sharer's context length (ms, median of "
              f"{args.reps}):")
        print("\n".join(latency_curve(r, [int(x) for x in args.lengths.split(",")], args.reps)), flush=True)
    split, f = last
    acc = lambda m: f"{f[m][0]:.1f}" if m in f else "na"            # noqa: E731
    ms = lambda m: f"{f[m][1]:.1f}" if m in f else "na"             # noqa: E731
    nb = lambda m: f"{f[m][2]:.0f}" if m in f else "na"             # noqa: E731
    print(f"handoff: split={split} none={acc('NONE')} text_context={acc('TEXT_CONTEXT')} "
          f"text_summary={acc('TEXT_SUMMARY')} c2c={acc('C2C')} lcf={acc('LCF')} lcf_ms={ms('LCF')} "
          f"text_summary_ms={ms('TEXT_SUMMARY')} text_context_ms={ms('TEXT_CONTEXT')} "
          f"lcf_bytes={nb('LCF')} c2c_bytes={nb('C2C')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
