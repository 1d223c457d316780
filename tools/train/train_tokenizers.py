"""Trains both agents' tokenizers on the corpus plus suite training text (deterministic).

  train_tokenizers.py  ->  build/train/tokenizers/cw-llama/{tokenizer.json,tokenizer_config.json}
                           build/train/tokenizers/cw-gemma3/spm.model
The suite text (records, questions, passkey sentences) is mixed in so that the words the agents
read most (names, attribute words, "Question", "Answer") become single tokens.
"""
from __future__ import annotations

import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import agents  # noqa: E402
import data  # noqa: E402
import tokenizers as toks  # noqa: E402


def training_lines(max_corpus_chars: int = 6_000_000, n_episodes: int = 3000) -> list[str]:
    corpus = data.corpus_text("train")[:max_corpus_chars]
    lines = [ln for ln in corpus.split("\n") if ln.strip()]
    rng = random.Random(7)
    lines += data.suite_texts(n_episodes, rng)
    random.Random(11).shuffle(lines)
    return lines


def main() -> int:
    t0 = time.time()
    lines = training_lines()
    print(f"{len(lines)} lines, {sum(map(len, lines)) / 1e6:.1f} MB of text")
    for name, spec in agents.AGENTS.items():
        out = agents.tokenizer_dir(name)
        if spec.config.arch == "llama":
            toks.train_llama(lines, out, spec.vocab_size)
        else:
            toks.train_gemma(lines, out, spec.vocab_size)
        tok = toks.load(spec.config.arch, out)
        sample = "Records: Bob Smith code 4 1 9 3 . Question: What is the code of Bob Smith ? Answer: 4 1 9 3"
        print(f"{name}: {tok.n_vocab} tokens; sample -> {len(tok.encode(sample))} ids "
              f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
