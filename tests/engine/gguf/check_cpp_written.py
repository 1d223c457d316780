#!/usr/bin/env python3
"""Reads the GGUF written by the C++ Writer (gguf_writer_test, WritesSampleForPythonReader) with
the independent Python reader tools/gguf/gguf_io.py and checks every value: the C++ -> Python
direction of the cross-check (make_gguf_fixtures.py covers Python -> C++).
Usage: check_cpp_written.py BUILD_DIR SOURCE_DIR
"""
import pathlib
import sys

import numpy as np

build, src = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
sys.path.insert(0, str(src / "tools" / "gguf"))
import gguf_io  # noqa: E402

r = gguf_io.GGUFReader(str(build / "tests/engine/gguf/cpp_written.gguf"))
want = {
    "general.architecture": "llama", "u8": 250, "i16": -300, "u64": 1 << 40, "f32": 0.25,
    "f64": -1.5, "bool": True, "strs": ["a", "", "\u00e9"], "empty": [],
    "nested": [[1, -2], []], "general.alignment": 64,
}
errors = []
if r.version != 3 or r.alignment != 64:
    errors.append(f"version/alignment {r.version}/{r.alignment}")
if r.metadata != want:
    errors.append(f"metadata {r.metadata} != {want}")
q = r.tensors["q"]
if q.type_name != "Q4_K" or q.shape != (256, 2) or q.offset % 64:
    errors.append(f"tensor q: {q.type_name} {q.shape} offset {q.offset}")
if bytes(q.data) != bytes((i * 13) % 256 for i in range(288)):
    errors.append("tensor q bytes differ")
f = r.tensors["f"]
if f.offset % 64 or np.frombuffer(bytes(f.data), "<f4").tolist() != [1.0, -2.5, float(np.float32(1e-3))]:
    errors.append(f"tensor f: offset {f.offset} values {np.frombuffer(bytes(f.data), '<f4')}")
for e in errors:
    print("FAIL:", e)
print("python reader agrees with the C++ writer" if not errors else f"{len(errors)} mismatches")
sys.exit(1 if errors else 0)
