#!/usr/bin/env python3
"""Writes the corpus of malformed GGUF files into tests/engine/gguf/broken/.

Each file carries exactly one defect on top of an otherwise valid, tiny GGUF, built byte by byte
here (not through gguf_io.py, which refuses to write most of these). expected.txt maps each file
to a substring that the C++ reader's error must contain: the field and what is wrong (the test
also checks that the message names the file path). The files double as fuzzing seeds.
Run: /usr/bin/python3 tools/reference/make_broken_gguf.py
"""
from __future__ import annotations

import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "engine" / "gguf" / "broken"

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
Q4_K, F32_T, Q4_1 = 12, 0, 3


def s(text: str | bytes, length: int | None = None) -> bytes:
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b) if length is None else length) + b


def header(n_tensors: int, n_kv: int, version: int = 3, magic: bytes = b"GGUF") -> bytes:
    return magic + struct.pack("<IQQ", version, n_tensors, n_kv)


def kv(key: str, vtype: int, payload: bytes) -> bytes:
    return s(key) + struct.pack("<I", vtype) + payload


def kv_u32(key: str, v: int) -> bytes:
    return kv(key, U32, struct.pack("<I", v))


def tinfo(name: str, dims: list[int], ttype: int, offset: int) -> bytes:
    return s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", ttype, offset)


def pad(b: bytes, align: int = 32) -> bytes:
    return b + b"\0" * ((-len(b)) % align)


def with_tensors(infos: list[bytes], data_bytes: int, kvs: list[bytes] = (), align: int = 32) -> bytes:
    head = header(len(infos), len(kvs)) + b"".join(kvs) + b"".join(infos)
    return pad(head, align) + b"\0" * data_bytes


GOOD_KV = kv("general.architecture", STRING, s("llama"))

CASES: list[tuple[str, bytes, str]] = [
    ("empty.gguf", b"", "header.magic: truncated"),
    ("truncated_header.gguf", b"GGUF\x03\x00", "header.version: truncated"),
    ("truncated_counts.gguf", header(0, 0)[:20], "header.n_kv: truncated"),
    ("bad_magic.gguf", header(0, 0, magic=b"GGML"), "header.magic: bad magic"),
    ("unsupported_version_1.gguf", header(0, 0, version=1), "header.version: unsupported version 1"),
    ("unsupported_version_4.gguf", header(0, 0, version=4), "header.version: unsupported version 4"),
    ("big_endian_version.gguf", header(0, 0, version=3 << 24), "byte-swapped"),
    ("huge_n_kv.gguf", header(0, 1 << 60), "header.n_kv: count 1152921504606846976 cannot fit"),
    ("huge_n_tensors.gguf", header(1 << 40, 0) + b"\0" * 64, "header.n_tensors: count 1099511627776 cannot fit"),
    ("huge_key_length.gguf", header(0, 1) + s(b"k", length=1 << 62) + b"\0" * 16,
     "metadata entry #0 key: truncated string: length 4611686018427387904"),
    ("key_truncated.gguf", header(0, 1) + s(b"general", length=20),
     "metadata entry #0 key: truncated string: length 20"),
    ("huge_string_value.gguf", header(0, 1) + kv("general.name", STRING, s(b"x", length=(1 << 64) - 1)),
     "metadata key 'general.name': truncated string: length 18446744073709551615"),
    ("value_truncated.gguf", header(0, 1) + kv("llama.block_count", U32, b"\x01\x00"),
     "metadata key 'llama.block_count': truncated"),
    ("huge_array_count.gguf", header(0, 1) + kv("tokenizer.ggml.scores", ARRAY, struct.pack("<IQ", F32, 1 << 60)) + b"\0" * 32,
     "metadata key 'tokenizer.ggml.scores': array count 1152921504606846976 of f32 cannot fit"),
    ("huge_string_array_count.gguf", header(0, 1) + kv("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, 1 << 40)) + s("a"),
     "metadata key 'tokenizer.ggml.tokens': array count 1099511627776 of string cannot fit"),
    ("unknown_value_type.gguf", header(0, 1) + kv("general.name", 13, b"\0" * 8),
     "metadata key 'general.name': unknown value type 13"),
    ("unknown_array_elem_type.gguf", header(0, 1) + kv("test.arr", ARRAY, struct.pack("<IQ", 99, 1)) + b"\0" * 8,
     "metadata key 'test.arr': unknown array element type 99"),
    ("nested_too_deep.gguf", header(0, 1) + kv("test.deep", ARRAY, struct.pack("<IQ", ARRAY, 1) * 12 + struct.pack("<IQ", U8, 0)),
     "metadata key 'test.deep': arrays nested deeper than 8 levels"),
    ("duplicate_key.gguf", header(0, 2) + kv("general.name", STRING, s("a")) + kv("general.name", STRING, s("b")),
     "metadata key 'general.name': duplicate key"),
    ("alignment_zero.gguf", with_tensors([tinfo("w", [8], F32_T, 0)], 32, [kv_u32("general.alignment", 0)]),
     "metadata key 'general.alignment': bad alignment 0"),
    ("alignment_not_pow2.gguf", with_tensors([tinfo("w", [8], F32_T, 0)], 48, [kv_u32("general.alignment", 48)], align=48),
     "metadata key 'general.alignment': bad alignment 48"),
    ("alignment_wrong_type.gguf", header(0, 1) + kv("general.alignment", STRING, s("32")),
     "metadata key 'general.alignment': alignment must be a non-negative integer, got string"),
    ("unknown_tensor_type.gguf", with_tensors([tinfo("blk.0.attn_q.weight", [32], Q4_1, 0)], 32),
     "tensor 'blk.0.attn_q.weight': unknown or unsupported tensor type id 3"),
    ("n_dims_too_large.gguf", with_tensors([tinfo("w", [1, 1, 1, 1, 1], F32_T, 0)], 32),
     "tensor 'w': n_dims 5 is larger than 4"),
    ("dim_above_int64.gguf", with_tensors([tinfo("w", [1 << 63], F32_T, 0)], 32),
     "tensor 'w': dimension 0 is 9223372036854775808, above INT64_MAX"),
    ("shape_overflow.gguf", with_tensors([tinfo("w", [1 << 32, 1 << 32], F32_T, 0)], 32),
     "tensor 'w': shape [4294967296, 4294967296] has more elements than fit in int64 (overflow)"),
    ("byte_size_overflow.gguf", with_tensors([tinfo("w", [1 << 62, 1], F32_T, 0)], 32),
     "tensor 'w': byte size of 4611686018427387904 F32 elements overflows"),
    # Found by the fuzzer: a zero dimension made the product 0, hiding an unrepresentable row.
    ("zero_dim_huge_row.gguf", with_tensors([tinfo("w", [0x4F00000000000000, 0], F32_T, 0)], 32),
     f"tensor 'w': byte size of {0x4F00000000000000} F32 elements overflows"),
    ("shape_not_block_multiple.gguf", with_tensors([tinfo("token_embd.weight", [100, 2], Q4_K, 0)], 288),
     "tensor 'token_embd.weight': row length shape[0] = 100 is not a multiple of the Q4_K block size 256"),
    ("tensor_name_truncated.gguf", header(1, 0) + s(b"blk.0", length=64) + b"\0" * 20,
     "tensor #0 name: truncated string: length 64"),
    ("tensor_info_truncated.gguf", header(1, 0) + s("w") + struct.pack("<I", 4) + struct.pack("<QQ", 8, 8),
     "tensor 'w': truncated"),
    ("duplicate_tensor.gguf", with_tensors([tinfo("w", [8], F32_T, 0), tinfo("w", [8], F32_T, 32)], 64),
     "tensor 'w': duplicate tensor name"),
    ("misaligned_offset.gguf", with_tensors([tinfo("w", [8], F32_T, 4)], 64),
     "tensor 'w': offset 4 is misaligned: not a multiple of the alignment 32"),
    ("tensor_offset_past_end.gguf", with_tensors([tinfo("w", [8], F32_T, 4096)], 64),
     "tensor 'w': offset 4096 is past the end of the data section (64 bytes)"),
    ("tensor_data_past_end.gguf", with_tensors([tinfo("w", [64], F32_T, 32)], 64),
     "tensor 'w': data [32, +256) runs past the end of the data section (64 bytes)"),
    ("data_section_missing.gguf", header(1, 0) + tinfo("w", [8], F32_T, 0),
     "header.data_start: tensor data would start at offset 64, past the end of the file (57 bytes)"),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.gguf"):
        old.unlink()
    lines = ["# file<TAB>substring the reader's error must contain (besides the file path).",
             "# Made by tools/reference/make_broken_gguf.py."]
    for name, data, expect in CASES:
        assert len(data) < 1024, name
        (OUT / name).write_bytes(data)
        lines.append(f"{name}\t{expect}")
    (OUT / "expected.txt").write_text("\n".join(lines) + "\n")
    print(f"{len(CASES)} broken files in {OUT}")


if __name__ == "__main__":
    main()
