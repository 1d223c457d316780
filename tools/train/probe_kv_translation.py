"""How faithful must a translated cache be? A probe for the LCF design (LCF.md), not an adapter.

Instead of pooling the sharer's cache into M slots, translate it token by token: every sharer
token's entries (all layers, [k; v], keys un-rotated) are mapped to the receiver's entries of the
same text at the receiver token covering the sharer token's last byte (c2c_align's rule, sides
swapped), and pinned into the receiver as a handoff would pin them (handoff.receiver_answer).
The map is fitted in closed form (ridge regression over train-split episodes), or as a small MLP
(--mlp), optionally through a linear bottleneck of R values per token (--latent R: the part a
sharer would send, as f16, 2R bytes a token). Measured on a committed split's families (default: test facts), exact match under teacher
forcing; --keep K sends only K sharer tokens (the first 4, then by lowest key norm or evenly
spaced), as a receiver's pin room (budget - sinks - window) may demand:

  none         the receiver with its own unrelated context only
  oracle_full  its own cache of the whole text pinned (what any translation could reach)
  oracle_tok   the same entries at the sharer's token granularity (one pin per sharer token)
  ridge        the fitted map's prediction
  mix A        A * oracle_tok + (1 - A) * ridge: how close the prediction must come

  probe_kv_translation.py [--sharer cw-llama] [--receiver cw-gemma3] [--n-train 200]
                          [--n-test 50] [--mlp [--latent R]] [--keep K [--select l2|stride]]
                          [--split test|heldout] [--families facts,multi_fact,shared_facts]

Prints the fit's R^2 per receiver layer (keys, values) on the fitting episodes (or on held-back
rows for --mlp) and each mode's accuracy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import agents  # noqa: E402
import c2c_align  # noqa: E402
import episodes  # noqa: E402
import handoff  # noqa: E402
import lcf_adapter  # noqa: E402
import train_lcf_tokens  # noqa: E402

# Episodes whose text either agent spells in more tokens are left out of the fit (the teacher's
# bound in train_lcf.py).
MAX_TOKENS = 440
RIDGE = 1e-2        # times the mean diagonal of X^T X
MIX = (0.5, 0.8, 0.9)


def selected(entries, keep: int, how: str) -> torch.Tensor:
    """Indices (in text order) of the sharer tokens sent: all; or the first 4 and then by lowest
    key norm, the rule the per-token adapters send by (lcf_adapter.select_tokens); or the first
    4 and the rest evenly spaced."""
    n = entries[0][0].shape[2]
    if keep <= 0 or keep >= n:
        return torch.arange(n)
    if how == "l2":
        return lcf_adapter.select_tokens(entries, 0, keep)
    sinks = lcf_adapter.N_SINK
    rest = torch.arange(sinks, n)
    rest = rest[torch.linspace(0, len(rest) - 1, keep - sinks).round().long()]
    return torch.cat((torch.arange(sinks), rest))


class Translation:
    def __init__(self, sharer: handoff.Agent, receiver: handoff.Agent):
        self.S, self.R = sharer, receiver
        c = receiver.model.c
        self.width = c.n_head_kv * 2 * c.head_dim   # one receiver layer's [k; v] per token

    def features(self, text: str):
        """(X (Ts, F) sharer features, Y (Ts, L*width) the receiver's entries at each sharer
        token's aligned receiver token and the receiver's forward over the whole text
        (train_lcf_tokens.receiver_targets), and the sharer's cache entries)."""
        s_ids, s_spans = c2c_align.token_spans(self.S, text)
        entries = handoff.sharer_entries(self.S, [s_ids])
        parts = []
        for k, v, keep in entries:
            x = torch.cat((k[0], v[0]), -1).permute(1, 0, 2).reshape(len(s_ids), -1)
            seen = keep[0][:, None].float()           # a sliding-window layer's older entries: 0
            parts += [x * seen, seen]
        x = torch.cat(parts, 1)
        previous = torch.cat((torch.zeros(1, x.shape[1]), x[:-1]), 0)
        X = torch.cat((x, previous, torch.ones(len(s_ids), 1)), 1)
        Y, out = train_lcf_tokens.receiver_targets(self.R, text, s_spans)
        return X.double(), Y.double(), out, entries

    def pins(self, Y: torch.Tensor):
        """Rows (N, L*width) -> per receiver layer (k, v), each (1, Hkv, N, D)."""
        c = self.R.model.c
        out = []
        for y in Y.float().split(self.width, 1):
            y = y.reshape(len(Y), c.n_head_kv, 2 * c.head_dim).permute(1, 0, 2)[None]
            out.append((y[..., :c.head_dim].contiguous(), y[..., c.head_dim:].contiguous()))
        return out


def fits(S: handoff.Agent, R: handoff.Agent, text: str) -> bool:
    return max(len(handoff.context_ids(a, text)) for a in (S, R)) <= MAX_TOKENS


def layer_r2(residual: torch.Tensor, variance: torch.Tensor, width: int) -> list[str]:
    half = width // 2
    out = []
    for il in range(len(residual) // width):
        r, v = residual[il * width:(il + 1) * width], variance[il * width:(il + 1) * width]
        out.append(f"{1 - r[:half].sum() / v[:half].sum():.2f}/{1 - r[half:].sum() / v[half:].sum():.2f}")
    return out


@torch.no_grad()
def fit_ridge(tr: Translation, texts: list[str]):
    XtX = XtY = None
    YtY = Ysum = 0.0
    n = 0
    for text in texts:
        X, Y = tr.features(text)[:2]
        if XtX is None:
            XtX, XtY = torch.zeros(X.shape[1], X.shape[1], dtype=torch.double), 0.0
        XtX += X.T @ X
        XtY = XtY + X.T @ Y
        YtY = YtY + (Y * Y).sum(0)
        Ysum = Ysum + Y.sum(0)
        n += len(X)
    eye = torch.eye(XtX.shape[0], dtype=torch.double)
    W = torch.linalg.solve(XtX + RIDGE * XtX.diagonal().mean() * eye, XtY)
    residual = (W.T @ XtX @ W).diagonal() - 2 * (W * XtY).sum(0) + YtY
    variance = YtY - Ysum ** 2 / n
    r2 = 1 - residual.sum() / variance.sum()
    print(f"ridge: {n} rows, {XtX.shape[0]} features -> {XtY.shape[1]}; R^2 {r2:.3f}; per layer "
          f"(k/v) {' '.join(layer_r2(residual, variance, tr.width))}", flush=True)
    return lambda X: X @ W


def fit_mlp(tr: Translation, texts: list[str], latent: int = 0, saved: str | None = None,
            steps: int = 3000, hidden: int = 1024):
    """The fitted map; `saved`: a file to reuse the fit from (written when absent)."""
    if saved and os.path.exists(saved):
        net, mx, sx, my, sy = torch.load(saved)
        print(f"mlp: the fit of {saved}", flush=True)
        return lambda X: (net((X.float() - mx) / sx) * sy + my).detach().double()
    with torch.no_grad():
        xs, ys = zip(*[tr.features(t)[:2] for t in texts])
    X, Y = torch.cat(xs).float(), torch.cat(ys).float()
    mx, sx, my, sy = X.mean(0), X.std(0) + 1e-3, Y.mean(0), Y.std(0) + 1e-3
    Xn, Yn = (X - mx) / sx, (Y - my) / sy
    torch.manual_seed(0)
    # --latent r: a linear map to r values per token first (what a sharer would send), then the
    # MLP on the receiver's side.
    head = [torch.nn.Linear(X.shape[1], latent), torch.nn.Linear(latent, hidden)] if latent \
        else [torch.nn.Linear(X.shape[1], hidden)]
    net = torch.nn.Sequential(*head, torch.nn.GELU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.GELU(), torch.nn.Linear(hidden, Y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    order = torch.randperm(len(X))
    held, rows = order[:3000], order[3000:]
    for _ in range(steps):
        i = rows[torch.randint(len(rows), (512,))]
        loss = ((net(Xn[i]) - Yn[i]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        residual = ((net(Xn[held]) - Yn[held]) ** 2 * sy ** 2).sum(0)
        variance = ((Y[held] - Y[held].mean(0)) ** 2).sum(0)
    print(f"mlp (latent {latent or 'none'}): {len(X)} rows, {steps} steps; held-back R^2 {1 - residual.sum() / variance.sum():.3f}; "
          f"per layer (k/v) {' '.join(layer_r2(residual, variance, tr.width))}", flush=True)
    if saved:
        torch.save((net, mx, sx, my, sy), saved)
    return lambda X: (net((X.float() - mx) / sx) * sy + my).detach().double()


@torch.no_grad()
def accuracy(tr: Translation, eps, pins_of) -> float:
    hits = 0
    for e in eps:
        qa = [handoff.question_ids(tr.R, e.question, e.answer)]
        ctx = [handoff.context_ids(tr.R, e.receiver_context)]
        pins = pins_of(e)
        layers = None if pins is None else list(range(tr.R.model.c.n_layer))
        _, hit = handoff.receiver_answer(tr.R, ctx, qa, pins, layers)
        hits += int(hit.sum())
    return 100.0 * hits / len(eps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sharer", default="cw-llama")
    ap.add_argument("--receiver", default="cw-gemma3")
    ap.add_argument("--n-train", type=int, default=200, help="train-split facts episodes (+1/4 multi-fact)")
    ap.add_argument("--n-test", type=int, default=50)
    ap.add_argument("--mlp", action="store_true", help="fit a 2-layer MLP instead of the ridge map")
    ap.add_argument("--latent", type=int, default=0, help="with --mlp: a linear bottleneck of this width first")
    ap.add_argument("--keep", type=int, default=0, help="send only this many sharer tokens (0: all)")
    ap.add_argument("--select", choices=("l2", "stride"), default="l2")
    ap.add_argument("--split", default="test")
    ap.add_argument("--saved", default=None, help="with --mlp: reuse the fit in this file (written when absent)")
    ap.add_argument("--families", default="facts")
    args = ap.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    t0 = time.time()
    tr = Translation(handoff.load_agent(args.sharer), handoff.load_agent(args.receiver))
    train = episodes.generate("train", "facts", args.n_train, seed=7, n_records=(4, 40))
    train += episodes.generate("train", "multi_fact", args.n_train // 4, seed=7, n_records=(4, 40))
    texts = [] if args.saved and os.path.exists(args.saved) else \
        [e.sharer_context for e in train if fits(tr.S, tr.R, e.sharer_context)]
    predict = fit_mlp(tr, texts, args.latent, args.saved) if args.mlp else fit_ridge(tr, texts)
    path = os.path.join(agents.REPO, "tools", "suite", "data", f"{args.split}.jsonl")
    every = [e for e in episodes.load_episodes(path) if fits(tr.S, tr.R, e.sharer_context)]

    def translated(e, a: float = 0.0):
        X, Y, _, entries = tr.features(e.sharer_context)
        i = selected(entries, args.keep, args.select)
        return tr.pins(a * Y[i] + (1 - a) * predict(X[i]))

    def own_rows(e):
        _, Y, _, entries = tr.features(e.sharer_context)
        return tr.pins(Y[selected(entries, args.keep, args.select)])

    def whole(e):
        out = tr.features(e.sharer_context)[2]
        return [(out.plain_k[il], out.cache[il].v) for il in range(tr.R.model.c.n_layer)]

    modes = [("none", lambda e: None), ("oracle_full", whole),
             ("oracle_tok", own_rows),
             ("mlp" if args.mlp else "ridge", translated)]
    modes += [(f"mix {a}", lambda e, a=a: translated(e, a)) for a in MIX]
    sent = f"{args.keep} tokens by {args.select}" if args.keep else "every token"
    for fam in args.families.split(","):
        test = [e for e in every if e.family == fam][:args.n_test]
        print(f"{args.sharer} -> {args.receiver}, {args.split} {fam}, n={len(test)}, {sent}")
        for name, pins_of in modes:
            print(f"  {name:12s} {accuracy(tr, test, pins_of):5.1f}%", flush=True)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
