#!/usr/bin/env python3
"""Writes the GGUF reader fixtures into tests/engine/gguf/data/, using tools/gguf/gguf_io.py.

  fixture_v3.gguf  v3, general.alignment = 64, every metadata value type (scalars, arrays of
                   each, nested arrays, empty arrays), llama-style hyperparameters and tokenizer
                   keys, tensors of every supported type (1-, 2- and 3-dim)
  fixture_v2.gguf  v2 (same layout, older version field), default alignment, two tensors
  <name>.expected.json  what the C++ reader must report: every key with type and value, every
                   tensor with type, shape, offset, byte size, FNV-1a 64 of its bytes and the
                   first values of its first row (from dequant_reference.py)

  tests/fuzz/corpus/seed_*.gguf  small valid files (one block of every tensor type, nested
                   arrays) that seed the libFuzzer campaign of tests/fuzz/run_gguf_fuzz.sh

The files are written by Python and read by C++ (tests/engine/gguf/gguf_fixture_test.cc); the
reverse direction is covered by the C++ writer round-trip test.
Run: /usr/bin/python3 tools/reference/make_gguf_fixtures.py
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tools" / "gguf"))
sys.path.insert(0, str(HERE))
import gguf_io as g  # noqa: E402
from dequant_reference import BLOCKS, dequantize  # noqa: E402

OUT = ROOT / "tests" / "engine" / "gguf" / "data"
TYPE_NAMES = {g.UINT8: "u8", g.INT8: "i8", g.UINT16: "u16", g.INT16: "i16", g.UINT32: "u32",
              g.INT32: "i32", g.FLOAT32: "f32", g.BOOL: "bool", g.STRING: "string",
              g.ARRAY: "array", g.UINT64: "u64", g.INT64: "i64", g.FLOAT64: "f64"}


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def to_json(tv: g.Typed) -> dict:
    """Expected value as the C++ reader sees it (f32 values rounded through float32)."""
    if tv.type == g.ARRAY:
        items = [it if isinstance(it, g.Typed) else g.Typed(tv.elem_type, it) for it in tv.value]
        return {"type": "array", "elem": TYPE_NAMES[tv.elem_type], "items": [to_json(i) for i in items]}
    v = tv.value
    if tv.type == g.FLOAT32:
        v = float(np.float32(v))
    if tv.type == g.UINT64 or tv.type == g.INT64:
        v = str(v)  # JSON numbers lose precision beyond 2^53: keep 64-bit integers as strings
    return {"type": TYPE_NAMES[tv.type], "value": v}


def random_tensor_bytes(rng: np.random.Generator, type_name: str, n: int) -> bytes:
    per_block, block_bytes = BLOCKS[type_name]
    if type_name == "F32":
        return rng.standard_normal(n).astype("<f4").tobytes()
    if type_name == "F16":
        return rng.standard_normal(n).astype("<f2").tobytes()
    if type_name == "BF16":
        return (rng.standard_normal(n).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    raw = rng.integers(0, 256, size=(n // per_block, block_bytes), dtype=np.uint16).astype(np.uint8)
    scale_offsets = {"Q4_0": [0], "Q8_0": [0], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}[type_name]
    for off in scale_offsets:
        raw[:, off:off + 2] = np.full(raw.shape[0], 0.01, dtype="<f2").view(np.uint8).reshape(-1, 2)
    return raw.tobytes()


def build(w: g.GGUFWriter, rng: np.random.Generator, tensors: list[tuple[str, str, tuple]]) -> dict:
    for name, type_name, shape in tensors:
        n = int(np.prod(shape))
        w.add_tensor(name, random_tensor_bytes(rng, type_name, n), type_name=type_name, shape=shape)
    data = w.to_bytes()
    meta = dict(w.metadata)
    if w.alignment != g.DEFAULT_ALIGNMENT:
        meta["general.alignment"] = g.Typed(g.UINT32, w.alignment)
    reader = g.GGUFReader(data)  # the independent reader must agree with what we meant to write
    assert reader.version == w.version and reader.alignment == w.alignment
    expected = {"version": w.version, "alignment": w.alignment, "size": len(data),
                "metadata": [{"key": k, **to_json(v)} for k, v in meta.items()], "tensors": []}
    for t in w.tensors:
        rt = reader.tensors[t.name]
        assert bytes(rt.data) == t.data
        row = t.shape[0] if t.shape else 1
        first = dequantize(t.data[:len(t.data) // max(1, int(np.prod(t.shape)) // row)], g.TENSOR_TYPES[t.type_id][0], row)
        expected["tensors"].append({
            "name": t.name, "type": g.TENSOR_TYPES[t.type_id][0], "shape": list(t.shape),
            "offset": rt.offset, "n_bytes": len(t.data), "fnv1a64": str(fnv1a64(t.data)),
            "first_row_head": [float(x) for x in first[:8]]})
    return data, expected


def fixture_v3(rng: np.random.Generator):
    w = g.GGUFWriter(version=3, alignment=64)
    T = g.Typed
    w.add("general.architecture", "llama")
    w.add("general.name", "cachewire-fixture")
    w.add("llama.context_length", T(g.UINT32, 2048))
    w.add("llama.embedding_length", T(g.UINT32, 256))
    w.add("llama.block_count", T(g.UINT32, 2))
    w.add("llama.attention.head_count", T(g.UINT32, 4))
    w.add("llama.attention.layer_norm_rms_epsilon", T(g.FLOAT32, 1e-5))
    w.add("llama.rope.freq_base", T(g.FLOAT32, 10000.0))
    w.add("tokenizer.ggml.model", "gpt2")
    w.add("tokenizer.ggml.pre", "llama-bpe")
    w.add("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b", "ab", "<|eot|>"])
    w.add("tokenizer.ggml.merges", ["a b"])
    w.add("tokenizer.ggml.token_type", T(g.ARRAY, [3, 3, 1, 1, 1, 3], g.INT32))
    w.add("tokenizer.ggml.bos_token_id", T(g.UINT32, 0))
    w.add("tokenizer.ggml.eos_token_id", T(g.UINT32, 1))
    w.add("tokenizer.ggml.eot_token_id", T(g.UINT32, 5))
    w.add("tokenizer.ggml.add_bos_token", True)
    # One key per scalar type, with values at the edges of their ranges.
    w.add("test.u8", T(g.UINT8, 255))
    w.add("test.i8", T(g.INT8, -128))
    w.add("test.u16", T(g.UINT16, 65535))
    w.add("test.i16", T(g.INT16, -32768))
    w.add("test.u32", T(g.UINT32, 4294967295))
    w.add("test.i32", T(g.INT32, -2147483648))
    w.add("test.u64", T(g.UINT64, 2**64 - 1))
    w.add("test.i64", T(g.INT64, -2**63))
    w.add("test.f32", T(g.FLOAT32, 3.14159))
    w.add("test.f64", T(g.FLOAT64, -2.718281828459045))
    w.add("test.bool_false", T(g.BOOL, False))
    w.add("test.string", "h\u00e9llo, \u4e16\u754c")
    w.add("test.empty_string", "")
    # Arrays of every element type, nested and empty ones.
    for tid, vals in [(g.UINT8, [0, 255]), (g.INT8, [-1, 1]), (g.UINT16, [7]), (g.INT16, [-7]),
                      (g.UINT32, [1, 2, 3]), (g.INT32, [-1, 0, 1]), (g.UINT64, [2**63]),
                      (g.INT64, [-2**40]), (g.FLOAT32, [0.5, -1.25]), (g.FLOAT64, [1e300]),
                      (g.BOOL, [True, False, True])]:
        w.add(f"test.arr_{TYPE_NAMES[tid]}", T(g.ARRAY, vals, tid))
    w.add("test.arr_string", T(g.ARRAY, ["x", "", "yz"], g.STRING))
    w.add("test.arr_empty_u8", T(g.ARRAY, [], g.UINT8))
    w.add("test.arr_empty_string", T(g.ARRAY, [], g.STRING))
    w.add("test.arr_nested", T(g.ARRAY, [T(g.ARRAY, [1, 2], g.INT32), T(g.ARRAY, [], g.INT32),
                                         T(g.ARRAY, [-3], g.INT32)], g.ARRAY))
    w.add("test.arr_nested_strings", T(g.ARRAY, [T(g.ARRAY, ["a", "b"], g.STRING)], g.ARRAY))
    w.add("test.arr_nested3", T(g.ARRAY, [T(g.ARRAY, [T(g.ARRAY, [1.5], g.FLOAT32)], g.ARRAY)], g.ARRAY))
    w.add("test.arr_empty_nested", T(g.ARRAY, [], g.ARRAY))
    w.add("test.arr_long", T(g.ARRAY, list(range(100)), g.UINT16))  # printed as "[100 x u16]"
    tensors = [("token_embd.weight", "Q4_K", (256, 6)), ("blk.0.attn_q.weight", "Q8_0", (256, 4)),
               ("blk.0.attn_k.weight", "Q4_0", (64, 2)), ("blk.0.ffn_up.weight", "Q5_K", (256, 2)),
               ("blk.0.ffn_down.weight", "Q6_K", (512, 1)), ("blk.0.attn_norm.weight", "F32", (256,)),
               ("blk.1.attn_q.weight", "F16", (16, 4, 2)), ("output.weight", "BF16", (8, 6))]
    return build(w, rng, tensors)


def fixture_v2(rng: np.random.Generator):
    w = g.GGUFWriter(version=2)
    w.add("general.architecture", "gpt2")
    w.add("gpt2.block_count", g.Typed(g.UINT32, 1))
    w.add("general.file_type", g.Typed(g.UINT32, 1))
    tensors = [("wte", "F16", (8, 4)), ("ln_f.weight", "F32", (8,))]
    return build(w, rng, tensors)


def fuzz_seeds(rng: np.random.Generator) -> dict[str, bytes]:
    T = g.Typed
    seeds = {}
    w = g.GGUFWriter(version=3)
    w.add("general.architecture", "llama")
    w.add("a", T(g.ARRAY, [T(g.ARRAY, [1, 2], g.INT32), T(g.ARRAY, ["s"], g.STRING)], g.ARRAY))
    w.add("b", T(g.ARRAY, [0.5], g.FLOAT64))
    for type_name, (per_block, _) in BLOCKS.items():
        w.add_tensor(type_name.lower(), random_tensor_bytes(rng, type_name, per_block),
                     type_name=type_name, shape=(per_block,))
    seeds["seed_all_types.gguf"] = w.to_bytes()
    w = g.GGUFWriter(version=2, alignment=64)
    w.add("general.name", "x")
    w.add_tensor("t", random_tensor_bytes(rng, "Q8_0", 64), type_name="Q8_0", shape=(32, 2))
    seeds["seed_v2_align64.gguf"] = w.to_bytes()
    return seeds


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    fuzz_dir = ROOT / "tests" / "fuzz" / "corpus"
    fuzz_dir.mkdir(parents=True, exist_ok=True)
    for name, data in fuzz_seeds(np.random.default_rng(11)).items():
        (fuzz_dir / name).write_bytes(data)
        print(f"fuzz seed {name}: {len(data)} bytes")
    for name, fn in [("fixture_v3", fixture_v3), ("fixture_v2", fixture_v2)]:
        data, expected = fn(rng)
        (OUT / f"{name}.gguf").write_bytes(data)
        (OUT / f"{name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        print(f"{name}.gguf: {len(data)} bytes, {len(expected['metadata'])} keys, "
              f"{len(expected['tensors'])} tensors")


if __name__ == "__main__":
    main()
