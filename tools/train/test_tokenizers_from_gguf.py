"""The tokenizers rebuilt from the shipped GGUFs (tokenizers.from_gguf, which every adapter tool
uses through handoff.load_agent) encode exactly as the reference tokenizers did when the golden
files were made (models/golden/<agent>.tokens.json: Hugging Face tokenizers for cw-llama's
tokenizer.json, the sentencepiece library for cw-gemma3's model, on 100 varied texts)."""
from __future__ import annotations

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizers as toks  # noqa: E402

REPO = os.path.join(HERE, "..", "..")


def cases(agent: str) -> list[dict]:
    with open(os.path.join(REPO, "models", "golden", f"{agent}.tokens.json"), encoding="utf-8") as f:
        return json.load(f)["tokenizer_cases"]


class FromGguf(unittest.TestCase):
    def check(self, agent: str, arch: str, skip=lambda text: False) -> None:
        tok = toks.from_gguf(arch, os.path.join(REPO, "models", f"{agent}.gguf"))
        checked = 0
        for case in cases(agent):
            if skip(case["text"]):
                continue
            self.assertEqual(tok.encode(case["text"]), case["ids"], f"{agent}: {case['text'][:60]!r}")
            checked += 1
        self.assertGreater(checked, 90)

    def test_cw_llama(self) -> None:
        # The reference matches special tokens written in the text; training text never holds
        # any, and the encoder here treats them as plain text, so those cases are left out.
        self.check("cw-llama", "llama", skip=lambda text: "<|" in text)

    def test_cw_gemma3(self) -> None:
        self.check("cw-gemma3", "gemma3")

    def test_special_ids_are_the_files(self) -> None:
        llama = toks.from_gguf("llama", os.path.join(REPO, "models", "cw-llama.gguf"))
        gemma = toks.from_gguf("gemma3", os.path.join(REPO, "models", "cw-gemma3.gguf"))
        self.assertEqual((llama.bos, llama.eos, llama.n_vocab), (4091, 4092, 4096))
        self.assertEqual((gemma.bos, gemma.eos, gemma.n_vocab), (2, 1, 3072))
        self.assertEqual(gemma.sp.id_to_piece(gemma.eot), "<end_of_turn>")


if __name__ == "__main__":
    unittest.main()
