#!/usr/bin/env python3
"""End-to-end test of `cachewire inspect`: runs the built binary on the Python-written fixture
and on broken files, checking the printed summary and the error contract (message on stderr
naming file and field, exit code 1).
Usage: inspect_cli_test.py PATH/TO/cachewire SOURCE_DIR
"""
import pathlib
import re
import subprocess
import sys


def run(binary: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)


def main() -> int:
    binary, src = sys.argv[1], pathlib.Path(sys.argv[2])
    data, broken = src / "tests/engine/gguf/data", src / "tests/engine/gguf/broken"
    failures = []

    def check(cond: bool, what: str) -> None:
        if not cond:
            failures.append(what)

    fixture = str(data / "fixture_v3.gguf")
    r = run(binary, "inspect", fixture)
    out = r.stdout
    check(r.returncode == 0, f"exit code {r.returncode} on a valid file; stderr: {r.stderr}")
    expected_lines = [
        f"file:          {fixture}",
        "gguf version:  3",
        "alignment:     64",
        "architecture:  llama",
        'name:          "cachewire-fixture"',
        "hyperparameters (llama.*):",
        "  llama.block_count = 2",
        "  llama.rope.freq_base = 10000",
        '  model:      "gpt2"',
        '  pre:        "llama-bpe"',
        "  vocab size: 6",
        "  merges:     1",
        '  bos:        0 "<s>"',
        '  eos:        1 "</s>"',
        '  eot:        5 "<|eot|>"',
        "  add_bos:    true",
        "  tokenizer.ggml.token_type = [3, 3, 1, 1, 1, 3]",
        "  test.u64 = 18446744073709551615",
        "  test.arr_nested = [[1, 2], [0 x i32], [-3]]",
        "  test.arr_empty_string = [0 x string]",
        "  general.alignment = 64",
        "tensors (8):",
        "total tensor bytes: 4172 bytes",
        "file size:          7232 bytes",
    ]
    lines = out.splitlines()
    for line in expected_lines:
        check(line in lines, f"missing line {line!r}")
    check(re.search(r"^  token_embd\.weight\s+Q4_K\s+\[256, 6\]\s+864$", out, re.M) is not None,
          "tensor row for token_embd.weight")
    check(re.search(r"^  blk\.1\.attn_q\.weight\s+F16\s+\[16, 4, 2\]\s+256$", out, re.M) is not None,
          "tensor row for blk.1.attn_q.weight")
    # Keys shown in the summaries are not repeated under "other metadata".
    other = out.split("other metadata:")[1].split("tensors (")[0] if "other metadata:" in out else ""
    check("tokenizer.ggml.tokens" not in other and "llama.block_count" not in other,
          "summarised keys repeated under other metadata")

    check("  test.arr_long = [100 x u16]" in lines, "long array not summarised as [100 x u16]")

    for name, field in [("duplicate_key.gguf", "metadata key 'general.name': duplicate key"),
                        ("tensor_data_past_end.gguf", "tensor 'w': data [32, +256) runs past")]:
        path = str(broken / name)
        r = run(binary, "inspect", path)
        check(r.returncode == 1, f"{name}: exit code {r.returncode}, want 1")
        check(path in r.stderr and field in r.stderr, f"{name}: stderr {r.stderr!r}")
        check(r.stdout == "", f"{name}: unexpected stdout {r.stdout!r}")
    r = run(binary, "inspect", str(data / "does-not-exist.gguf"))
    check(r.returncode == 1 and "does-not-exist.gguf: open: " in r.stderr,
          f"missing file: rc={r.returncode} stderr={r.stderr!r}")

    if failures:
        print("inspect output was:\n" + out)
        for f in failures:
            print("FAIL:", f)
        return 1
    print("cachewire inspect: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
