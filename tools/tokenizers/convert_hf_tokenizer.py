#!/usr/bin/env python3
"""Converts a Hugging Face tokenizer.json into a GGUF that holds tokenizer metadata only.

Follows what llama.cpp's convert_hf_to_gguf.py writes, so that cachewire reads these files and
real model GGUFs the same way:
  * BPE with a ByteLevel pre-tokenizer -> tokenizer.ggml.model "gpt2": tokens, token types,
    merges ("a b") and tokenizer.ggml.pre, named from the Split regex (llama-bpe, qwen2, gpt-2)
    unless --pre names it.
  * BPE with byte_fallback and a metaspace normaliser (Llama 2, Gemma 3) -> "llama": tokens,
    scores, token types. SentencePiece-style tokenizers merge the adjacent pair whose result has
    the highest score, so each piece scores -(rank of the first merge producing it): then
    highest-score-first reproduces Hugging Face's lowest-rank-first merge order. Pieces no merge
    produces (single characters, bytes, added tokens) get a score below every merge.
Token types: special added tokens CONTROL, other added tokens USER_DEFINED, <0xXX> BYTE, the
unk token UNKNOWN, ids missing from the vocabulary UNUSED. bos/eos/pad/add_bos/chat_template
come from tokenizer_config.json next to tokenizer.json.

Usage: convert_hf_tokenizer.py TOKENIZER_JSON OUT_GGUF [--name NAME] [--pre NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gguf"))
import gguf_io  # noqa: E402

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# Split regexes of the Hugging Face tokenizer.json files -> llama.cpp pre-tokenizer names.
KNOWN_PRE = {
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+": "llama-bpe",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+": "qwen2",
}
# Texts llama.cpp recognises as end-of-turn tokens.
EOT_TEXTS = ["<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|eom_id|>"]
BYTE_RE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


class ConvertError(Exception):
    pass


def _walk(node):
    """Yields every dict inside a normalizer/pre_tokenizer tree (Sequence nesting flattened)."""
    if isinstance(node, dict):
        yield node
        for key in ("normalizers", "pretokenizers", "decoders"):
            for child in node.get(key) or []:
                yield from _walk(child)


def detect_pre(tok: dict) -> str:
    nodes = list(_walk(tok.get("pre_tokenizer")))
    for n in nodes:
        if n.get("type") == "Split":
            regex = (n.get("pattern") or {}).get("Regex")
            if regex in KNOWN_PRE:
                return KNOWN_PRE[regex]
            raise ConvertError(f"unknown Split regex {regex!r}; name it with --pre")
    for n in nodes:
        if n.get("type") == "ByteLevel" and n.get("use_regex", True):
            return "gpt-2"
    raise ConvertError("cannot tell the pre-tokenizer; name it with --pre")


def token_table(tok: dict) -> tuple[list[str], dict[int, dict]]:
    """Tokens by id (vocab plus added tokens), gaps filled the way llama.cpp does."""
    vocab = tok["model"]["vocab"]
    added = {a["id"]: a for a in tok.get("added_tokens", [])}
    n = max(list(vocab.values()) + list(added.keys())) + 1
    tokens: list[str | None] = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    for i, a in added.items():
        tokens[i] = a["content"]
    return [t if t is not None else f"[PAD{i}]" for i, t in enumerate(tokens)], added


def merges_of(model: dict) -> list[tuple[str, str]]:
    out = []
    for m in model.get("merges", []):
        if isinstance(m, str):
            a, b = m.split(" ", 1)
        else:
            a, b = m
        out.append((a, b))
    return out


def token_id(tokens_index: dict[str, int], value) -> int | None:
    if isinstance(value, dict):  # {"content": "<s>", ...} in older tokenizer_config files
        value = value.get("content")
    if value is None:
        return None
    if value not in tokens_index:
        raise ConvertError(f"tokenizer_config token {value!r} is not in the vocabulary")
    return tokens_index[value]


def convert(tok_path: str, out_path: str, name: str | None, pre_override: str | None) -> None:
    w = tokenizer_writer(tok_path, name, pre_override)
    tmp = out_path + ".tmp"
    w.write(tmp)
    os.replace(tmp, out_path)


def tokenizer_writer(tok_path: str, name: str | None, pre_override: str | None) -> gguf_io.GGUFWriter:
    """A GGUF writer holding the tokenizer metadata of tok_path (model exporters add to it)."""
    with open(tok_path, encoding="utf-8") as f:
        tok = json.load(f)
    cfg_path = os.path.join(os.path.dirname(tok_path), "tokenizer_config.json")
    cfg = {}
    if os.path.exists(cfg_path):
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    model = tok["model"]
    if model.get("type") != "BPE":
        raise ConvertError(f"model type {model.get('type')!r} not supported (BPE only)")

    tokens, added = token_table(tok)
    index = {t: i for i, t in enumerate(tokens)}
    vocab_ids = set(model["vocab"].values())
    merges = merges_of(model)
    unk = model.get("unk_token")
    unk_id = index.get(unk) if unk else None

    types = []
    for i, t in enumerate(tokens):
        if i in added:
            types.append(CONTROL if added[i].get("special") else USER_DEFINED)
        elif i not in vocab_ids:
            types.append(UNUSED)
        elif i == unk_id:
            types.append(UNKNOWN)
        elif model.get("byte_fallback") and BYTE_RE.match(t):
            types.append(BYTE)
        else:
            types.append(NORMAL)
    if unk_id is not None:
        types[unk_id] = UNKNOWN

    w = gguf_io.GGUFWriter()
    w.add("general.name", name or os.path.basename(os.path.dirname(os.path.abspath(tok_path))))
    w.add("tokenizer.ggml.tokens", gguf_io.Typed(gguf_io.ARRAY, tokens, gguf_io.STRING))
    w.add("tokenizer.ggml.token_type", gguf_io.Typed(gguf_io.ARRAY, types, gguf_io.INT32))

    normalizers = [n.get("type") for n in _walk(tok.get("normalizer"))]
    if model.get("byte_fallback"):
        # SentencePiece-style: spaces became U+2581 in the normaliser.
        replaces = [n for n in _walk(tok.get("normalizer")) if n.get("type") == "Replace"]
        if not any((n.get("pattern") or {}).get("String") == " " and n.get("content") == "\u2581"
                   for n in replaces):
            raise ConvertError("byte_fallback BPE without a ' ' -> U+2581 normaliser")
        prepend = any(n.get("type") == "Prepend" and n.get("prepend") == "\u2581"
                      for n in _walk(tok.get("normalizer")))
        first_rank: dict[str, int] = {}
        for r, (a, b) in enumerate(merges):
            first_rank.setdefault(a + b, r)
        floor = -float(len(merges) + 1)
        scores = [-float(first_rank[t]) if t in first_rank else floor for t in tokens]
        w.add("tokenizer.ggml.model", "llama")
        w.add("tokenizer.ggml.pre", pre_override or "default")
        w.add("tokenizer.ggml.scores", gguf_io.Typed(gguf_io.ARRAY, scores, gguf_io.FLOAT32))
        w.add("tokenizer.ggml.add_space_prefix", prepend)
    else:
        if not any(n.get("type") == "ByteLevel" for n in _walk(tok.get("pre_tokenizer"))):
            raise ConvertError("BPE without byte_fallback needs a ByteLevel pre-tokenizer")
        pre = pre_override or detect_pre(tok)
        if "NFC" in normalizers and pre not in ("qwen2",):
            raise ConvertError(f"NFC normaliser with pre-tokenizer {pre!r}: no such llama.cpp pre")
        w.add("tokenizer.ggml.model", "gpt2")
        w.add("tokenizer.ggml.pre", pre)
        w.add("tokenizer.ggml.merges",
              gguf_io.Typed(gguf_io.ARRAY, [f"{a} {b}" for a, b in merges], gguf_io.STRING))
        w.add("tokenizer.ggml.add_space_prefix", False)

    def put_id(key: str, value) -> None:
        if value is not None:
            w.add(key, gguf_io.Typed(gguf_io.UINT32, value))

    bos = token_id(index, cfg.get("bos_token"))
    eos = token_id(index, cfg.get("eos_token"))
    put_id("tokenizer.ggml.bos_token_id", bos)
    put_id("tokenizer.ggml.eos_token_id", eos)
    put_id("tokenizer.ggml.unknown_token_id", unk_id)
    put_id("tokenizer.ggml.padding_token_id", token_id(index, cfg.get("pad_token")))
    eot = next((index[t] for t in EOT_TEXTS if t in index), None)
    put_id("tokenizer.ggml.eot_token_id", eot)
    add_bos = cfg.get("add_bos_token")
    if add_bos is None:  # Llama 3 adds BOS through its post-processor template
        add_bos = bos is not None
    w.add("tokenizer.ggml.add_bos_token", bool(add_bos))
    w.add("tokenizer.ggml.add_eos_token", bool(cfg.get("add_eos_token", False)))
    if isinstance(cfg.get("chat_template"), str):
        w.add("tokenizer.chat_template", cfg["chat_template"])
    return w


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tokenizer_json")
    ap.add_argument("out_gguf")
    ap.add_argument("--name", help="general.name (default: the directory name)")
    ap.add_argument("--pre", help="tokenizer.ggml.pre to write instead of the detected one")
    args = ap.parse_args()
    try:
        convert(args.tokenizer_json, args.out_gguf, args.name, args.pre)
    except (ConvertError, KeyError, OSError, json.JSONDecodeError) as e:
        print(f"convert_hf_tokenizer: {args.tokenizer_json}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
