"""Writes and reads C2C fuser files: GGUF with general.architecture = cachewire.c2c, both models'
identity (cachewire.sharer.*, cachewire.receiver.*, as export_adapter.py records them for LCF, so
cachewire refuses a fuser for any other pair) and the fuser's shape:

  cachewire.c2c.hidden        width of each layer's MLP
  cachewire.c2c.head_groups   kv-head groups (c2c_fuser.py: one per head when the head counts match)
  cachewire.c2c.layer_map     per receiver layer, the sharer layer it reads (u32 array)
  fuse.<il>.{in,out}.{weight,bias}, fuse.<il>.gate   per receiver layer (c2c_fuser.py)

  export_c2c.py CHECKPOINT OUT.gguf                          a trained fuser (train_c2c.py)
  export_c2c.py --random --sharer A.gguf --receiver B.gguf OUT.gguf [--hidden 16]
                                                             random weights (tests, goldens)
Weight matrices are stored f16; biases and gates f32.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
import c2c_fuser  # noqa: E402
import export_adapter  # noqa: E402
import gguf_io  # noqa: E402

ARCH = "cachewire.c2c"


def config_for(sharer: dict, receiver: dict, hidden: int) -> c2c_fuser.C2cConfig:
    return c2c_fuser.C2cConfig(
        receiver_kv=(receiver["n_head_kv"], receiver["head_dim_k"], receiver["head_dim_v"]),
        sharer_kv=(sharer["n_head_kv"], sharer["head_dim_k"], sharer["head_dim_v"]),
        layer_map=c2c_fuser.layer_map(receiver["n_layer"], sharer["n_layer"]), hidden=hidden)


def is_matrix(name: str, t: torch.Tensor) -> bool:
    return name.endswith(".weight") and t.dim() == 2


def write(fuser: c2c_fuser.C2cFuser, sharer: dict, receiver: dict, out: str, name: str) -> None:
    c = fuser.c
    U32 = lambda v: gguf_io.Typed(gguf_io.UINT32, int(v))  # noqa: E731
    w = gguf_io.GGUFWriter()
    w.add("general.architecture", ARCH)
    w.add("general.name", name)
    w.add("cachewire.c2c.hidden", U32(c.hidden))
    w.add("cachewire.c2c.head_groups", U32(c.head_groups))
    w.add("cachewire.c2c.layer_map", gguf_io.Typed(gguf_io.ARRAY, [int(x) for x in c.layer_map], gguf_io.UINT32))
    for side, ident in (("sharer", sharer), ("receiver", receiver)):
        for k, v in ident.items():
            w.add(f"cachewire.{side}.{k}", U32(v) if isinstance(v, int) else v)
    for tname, t in fuser.gguf_tensors().items():
        arr = t.detach().float().numpy()
        w.add_tensor(tname, arr.astype(np.float16) if is_matrix(tname, t) else arr.astype(np.float32))
    tmp = out + ".tmp"
    w.write(tmp)
    os.replace(tmp, out)


def read(path: str) -> tuple[c2c_fuser.C2cFuser, dict, dict, str]:
    """The torch network holding exactly the file's (f16-rounded) weights, both identities, the name."""
    r = gguf_io.GGUFReader(path)
    md = r.metadata
    if md.get("general.architecture") != ARCH:
        raise ValueError(f"{path}: general.architecture is not {ARCH}")
    sharer, receiver = export_adapter.identities_in(r)
    cfg = config_for(sharer, receiver, int(md["cachewire.c2c.hidden"]))
    cfg.layer_map = [int(x) for x in md["cachewire.c2c.layer_map"]]
    fuser = c2c_fuser.C2cFuser(cfg)
    export_adapter.copy_tensors(r, fuser.gguf_tensors())
    return fuser.eval(), sharer, receiver, md["general.name"]


def randomise(fuser: c2c_fuser.C2cFuser) -> None:
    """Non-trivial biases and half-open gates, so tests see every term of the fusion."""
    with torch.no_grad():
        for name, t in fuser.gguf_tensors().items():
            if name.endswith(".gate"):
                t.normal_(0.0, 1.0)
            elif name.endswith(".bias"):
                t.normal_(0.0, 0.3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="[CHECKPOINT] OUT.gguf")
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--sharer", help="sharer GGUF (default: the checkpoint's agent in models/)")
    ap.add_argument("--receiver", help="receiver GGUF")
    ap.add_argument("--hidden", type=int, default=16, help="MLP width of a --random fuser")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    out = args.paths[-1]
    if args.random:
        sharer, receiver = export_adapter.identity(args.sharer), export_adapter.identity(args.receiver)
        torch.manual_seed(args.seed)
        fuser = c2c_fuser.C2cFuser(config_for(sharer, receiver, args.hidden))
        randomise(fuser)
        name = args.name or f"{sharer['name']}--{receiver['name']}.random"
    else:
        ck = torch.load(args.paths[0], map_location="cpu")
        fuser = c2c_fuser.C2cFuser(c2c_fuser.C2cConfig(**ck["config"]))
        fuser.load_state_dict(ck["fuser"])
        sharer, receiver, default_name = export_adapter.identities_of_checkpoint(ck, args.sharer, args.receiver)
        name = args.name or default_name
    write(fuser, sharer, receiver, out, name)
    print(f"{out}: {c2c_fuser.n_params(fuser)} parameters, {os.path.getsize(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
