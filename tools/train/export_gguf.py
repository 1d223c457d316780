"""Writes a trained agent (torch checkpoint) as a standard GGUF: f16 matrices, f32 norms, the full
tokenizer metadata and a chat template, so cachewire and llama.cpp load it like any model.

  export_gguf.py CHECKPOINT OUT.gguf --tokenizer DIR [--name cw-llama]
  export_gguf.py CHECKPOINT OUT.gguf --tokenizer-from models/cw-llama.gguf --name cw-llama

--tokenizer-from copies every tokenizer.* key of a GGUF with its types: a model trained on a
shipped file's vocabulary (tokenizers.from_gguf) is exported with exactly that vocabulary.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
sys.path.insert(0, os.path.join(HERE, "..", "tokenizers"))
import gguf_io  # noqa: E402
import convert_hf_tokenizer  # noqa: E402
import models  # noqa: E402
import tokenizers as toks  # noqa: E402

U32 = lambda v: gguf_io.Typed(gguf_io.UINT32, int(v))      # noqa: E731
F32 = lambda v: gguf_io.Typed(gguf_io.FLOAT32, float(v))   # noqa: E731
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def spm_writer(directory: str) -> gguf_io.GGUFWriter:
    """tokenizer.* metadata of a SentencePiece BPE model (the `llama` kind, as Gemma's GGUFs)."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(directory, "spm.model"))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(UNKNOWN if sp.is_unknown(i) else CONTROL if sp.is_control(i) else
                     BYTE if sp.is_byte(i) else UNUSED if sp.is_unused(i) else NORMAL)
    w = gguf_io.GGUFWriter()
    w.add("tokenizer.ggml.model", "llama")
    w.add("tokenizer.ggml.pre", "default")
    w.add("tokenizer.ggml.tokens", gguf_io.Typed(gguf_io.ARRAY, tokens, gguf_io.STRING))
    w.add("tokenizer.ggml.scores", gguf_io.Typed(gguf_io.ARRAY, scores, gguf_io.FLOAT32))
    w.add("tokenizer.ggml.token_type", gguf_io.Typed(gguf_io.ARRAY, types, gguf_io.INT32))
    w.add("tokenizer.ggml.bos_token_id", U32(sp.bos_id()))
    w.add("tokenizer.ggml.eos_token_id", U32(sp.eos_id()))
    w.add("tokenizer.ggml.unknown_token_id", U32(sp.unk_id()))
    w.add("tokenizer.ggml.padding_token_id", U32(sp.pad_id()))
    w.add("tokenizer.ggml.eot_token_id", U32(sp.piece_to_id("<end_of_turn>")))
    w.add("tokenizer.ggml.add_bos_token", True)
    w.add("tokenizer.ggml.add_eos_token", False)
    w.add("tokenizer.ggml.add_space_prefix", True)
    w.add("tokenizer.chat_template", toks.GEMMA3_CHAT_TEMPLATE)
    return w


def model_metadata(c: models.Config, name: str) -> dict:
    a = c.arch
    md = {
        "general.architecture": a,
        "general.name": name,
        "general.file_type": U32(1),  # mostly F16
        f"{a}.context_length": U32(c.n_ctx),
        f"{a}.embedding_length": U32(c.n_embd),
        f"{a}.block_count": U32(c.n_layer),
        f"{a}.feed_forward_length": U32(c.n_ff),
        f"{a}.attention.head_count": U32(c.n_head),
        f"{a}.attention.head_count_kv": U32(c.n_head_kv),
        f"{a}.rope.freq_base": F32(c.rope_base),
        f"{a}.attention.layer_norm_rms_epsilon": F32(c.eps),
        f"{a}.attention.key_length": U32(c.head_dim),
        f"{a}.attention.value_length": U32(c.head_dim),
    }
    if a == "llama":
        md["llama.rope.dimension_count"] = U32(c.head_dim)
        md["llama.vocab_size"] = U32(c.n_vocab)
    else:
        md["gemma3.attention.sliding_window"] = U32(c.sliding_window)
    return md


def export(checkpoint: str, out_path: str, tokenizer_dir: str | None, name: str,
           tokenizer_from: str | None = None) -> None:
    ck = torch.load(checkpoint, map_location="cpu")
    c = models.Config(**ck["config"])
    model = models.LM(c)
    model.load_state_dict(ck["model"])
    if tokenizer_from:
        w = gguf_io.GGUFWriter()
        src = gguf_io.GGUFReader(tokenizer_from)
        for key in src.metadata:
            if key.startswith("tokenizer."):
                w.metadata[key] = src.typed(key)
    elif c.arch == "llama":
        w = convert_hf_tokenizer.tokenizer_writer(os.path.join(tokenizer_dir, "tokenizer.json"), name, None)
    else:
        w = spm_writer(tokenizer_dir)
    for k, v in model_metadata(c, name).items():
        w.add(k, v)
    w.add("general.name", name)
    for tname, t in models.gguf_tensors(model).items():
        arr = t.detach().float().numpy()
        w.add_tensor(tname, arr.astype(np.float16) if arr.ndim == 2 else arr.astype(np.float32))
    tmp = out_path + ".tmp"
    w.write(tmp)
    os.replace(tmp, out_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokenizer", help="tokenizer directory (train_tokenizers.py)")
    src.add_argument("--tokenizer-from", help="copy the tokenizer of this GGUF")
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    export(a.checkpoint, a.out, a.tokenizer, a.name, a.tokenizer_from)
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
