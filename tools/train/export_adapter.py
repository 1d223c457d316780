"""Writes an LCF adapter as GGUF (general.architecture = cachewire.lcf), recording both models'
identity so that cachewire refuses it for any other pair (engine/adapter/model_identity.h).

  export_adapter.py CHECKPOINT OUT.gguf                  a trained adapter (train_lcf.py)
  export_adapter.py --random --sharer A.gguf --receiver B.gguf OUT.gguf [--slots 4 --slot-dim 32]
                    [--per-token]                         random weights (tests, goldens)
Weight matrices are stored f16, biases and norms f32.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
import agents  # noqa: E402
import gguf_io  # noqa: E402
import lcf_adapter  # noqa: E402
import models  # noqa: E402

WHOLE_TENSOR_BYTES = 8192
FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def _fnv(h: int, data: bytes) -> int:
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def fingerprint(reader: gguf_io.GGUFReader) -> str:
    """The same FNV-1a 64 as cachewire's Fingerprint (model_identity.h)."""
    h = FNV_OFFSET
    for t in reader.metadata.get("tokenizer.ggml.tokens", []):
        h = _fnv(h, t.encode("utf-8") + b"\0")
    for name, t in reader.tensors.items():
        data = bytes(t.data)
        head = name.encode("utf-8") + b"\0" + struct.pack("<II", gguf_io.TYPE_ID[t.type_name], len(t.shape))
        head += b"".join(struct.pack("<Q", d) for d in t.shape)
        h = _fnv(h, head)
        edge = WHOLE_TENSOR_BYTES // 2
        h = _fnv(h, data if len(data) <= WHOLE_TENSOR_BYTES else data[:edge] + data[-edge:])
    return f"{h:016x}"


def identity(path: str) -> dict:
    r = gguf_io.GGUFReader(path)
    md = r.metadata
    a = md["general.architecture"]
    n_head = int(md[f"{a}.attention.head_count"])
    head_dim = int(md.get(f"{a}.attention.key_length", int(md[f"{a}.embedding_length"]) // n_head))
    return {"name": md.get("general.name", ""), "architecture": a,
            "n_layer": int(md[f"{a}.block_count"]),
            "n_head_kv": int(md.get(f"{a}.attention.head_count_kv", n_head)),
            "head_dim_k": head_dim,
            "head_dim_v": int(md.get(f"{a}.attention.value_length", head_dim)),
            "fingerprint": fingerprint(r)}


def pinnable_layers(ident: dict) -> list[int]:
    """Every layer takes pins (kv_forward.pinnable_layers)."""
    return list(range(ident["n_layer"]))


def config_for(sharer: dict, receiver: dict, slots: int, slot_dim: int,
               per_token: bool = False) -> lcf_adapter.LcfConfig:
    return lcf_adapter.LcfConfig(
        sharer_layers=[sharer["head_dim_k"] + sharer["head_dim_v"]] * sharer["n_layer"],
        sharer_kv_heads=sharer["n_head_kv"],
        receiver_kv=(receiver["n_head_kv"], receiver["head_dim_k"], receiver["head_dim_v"]),
        receiver_layers=pinnable_layers(receiver), n_slots=slots, slot_dim=slot_dim,
        pos_pool=not per_token, per_token=per_token, pool_heads=1 if per_token else 4)


def write(adapter: lcf_adapter.LcfAdapter, sharer: dict, receiver: dict, out: str, name: str) -> None:
    c = adapter.c
    U32 = lambda v: gguf_io.Typed(gguf_io.UINT32, int(v))  # noqa: E731
    w = gguf_io.GGUFWriter()
    w.add("general.architecture", "cachewire.lcf")
    w.add("general.name", name)
    w.add("cachewire.lcf.n_slots", U32(c.n_slots))
    w.add("cachewire.lcf.slot_dim", U32(c.slot_dim))
    w.add("cachewire.lcf.pool_heads", U32(c.pool_heads))
    w.add("cachewire.lcf.ff_dim", U32(c.ff_mult * c.slot_dim))
    if c.per_token:   # one slot per sharer token sent, n_slots the most (lcf_adapter.py)
        w.add("cachewire.lcf.per_token", True)
    for side, ident in (("sharer", sharer), ("receiver", receiver)):
        for k, v in ident.items():
            w.add(f"cachewire.{side}.{k}", U32(v) if isinstance(v, int) else v)
    for tname, t in adapter.gguf_tensors().items():
        arr = t.detach().float().numpy()
        is_matrix = tname.endswith(".weight") and arr.ndim == 2
        w.add_tensor(tname, arr.astype(np.float16) if is_matrix else arr.astype(np.float32))
    tmp = out + ".tmp"
    w.write(tmp)
    os.replace(tmp, out)


IDENTITY_FIELDS = ("name", "architecture", "n_layer", "n_head_kv", "head_dim_k", "head_dim_v",
                   "fingerprint")


def identities_in(reader: gguf_io.GGUFReader) -> tuple[dict, dict]:
    """The sharer's and receiver's identities an adapter file records."""
    md = reader.metadata
    sharer, receiver = ({k: md[f"cachewire.{side}.{k}"] for k in IDENTITY_FIELDS}
                        for side in ("sharer", "receiver"))
    return sharer, receiver


def identities_of_checkpoint(ck: dict, sharer_path: str | None, receiver_path: str | None):
    """(sharer identity, receiver identity, default adapter name) of a training checkpoint: its
    agents' shipped GGUFs unless other files are given."""
    models_dir = os.path.join(agents.REPO, "models")
    sharer = identity(sharer_path or os.path.join(models_dir, ck["sharer"] + ".gguf"))
    receiver = identity(receiver_path or os.path.join(models_dir, ck["receiver"] + ".gguf"))
    return sharer, receiver, f"{ck['sharer']}--{ck['receiver']}"


@torch.no_grad()
def copy_tensors(reader: gguf_io.GGUFReader, tensors: dict[str, torch.Tensor]) -> None:
    """Fills each torch tensor (keyed by GGUF name) with the file's F16/F32 data."""
    for name, t in tensors.items():
        src = reader.tensors[name]
        dtype = {"F16": np.float16, "F32": np.float32}[src.type_name]
        t.copy_(torch.from_numpy(np.frombuffer(src.data, dtype=dtype).astype(np.float32)).view(t.shape))


def load_checkpoint(path: str) -> tuple[lcf_adapter.LcfAdapter, dict]:
    ck = torch.load(path, map_location="cpu")
    adapter = lcf_adapter.LcfAdapter(lcf_adapter.LcfConfig(**ck["config"]))
    adapter.load_state_dict(lcf_adapter.upgrade_state(ck["adapter"]))
    return adapter, ck


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="[CHECKPOINT] OUT.gguf")
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--sharer", help="sharer GGUF (default: the checkpoint's agent in models/)")
    ap.add_argument("--receiver", help="receiver GGUF")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--slot-dim", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-token", action="store_true", help="a per-token adapter (no pooling)")
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    out = args.paths[-1]
    if args.random:
        sharer, receiver = identity(args.sharer), identity(args.receiver)
        torch.manual_seed(args.seed)
        adapter = lcf_adapter.LcfAdapter(config_for(sharer, receiver, args.slots, args.slot_dim,
                                                    args.per_token))
        with torch.no_grad():  # non-trivial norms and biases, so tests see every term
            for t in adapter.parameters():
                if t.dim() == 1 or t.shape[0] == 1:
                    t.copy_(1.0 + 0.3 * torch.randn_like(t)) if t.dim() == 1 else t.normal_(0, 0.3)
            if not args.per_token:
                # Positional precisions of the trained scale (up to 4 M^2), the last head global.
                m = adapter.c.n_slots
                adapter.enc_pos.copy_(4.0 * m * m * torch.rand_like(adapter.enc_pos))
                adapter.enc_pos[-1] = 0.0
        name = args.name or f"{sharer['name']}--{receiver['name']}.random"
    else:
        adapter, ck = load_checkpoint(args.paths[0])
        sharer, receiver, default_name = identities_of_checkpoint(ck, args.sharer, args.receiver)
        name = args.name or default_name
    write(adapter, sharer, receiver, out, name)
    print(f"{out}: {lcf_adapter.n_params(adapter)} parameters, {os.path.getsize(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
