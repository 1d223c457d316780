"""The agents' tokenizers: training them and encoding training text exactly as cachewire will.

  cw-llama   byte-level BPE (`gpt2` kind, Llama 3 pre-tokenizer), 4096 tokens, Llama 3 specials.
  cw-gemma3  SentencePiece BPE (`llama` kind) from python3-sentencepiece, 3072 tokens, Gemma's
             specials (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <start_of_turn>, <end_of_turn>).
SentencePiece is trained with identity normalisation, no whitespace folding, a dummy prefix,
split digits and byte fallback: that is what a `llama`-kind GGUF tokenizer does at run time
(prepend U+2581, spaces to U+2581, highest-score merges, <0xXX> for unknown bytes), so the
sentencepiece library is an independent reference for cachewire's encoder on these files.

Training text is encoded in segments (`encode_segments`) so that the loss can sit on answer
tokens only; every segment after the first starts with a space, where neither tokenizer
merges across, so the ids equal those of the whole text.
"""
from __future__ import annotations

import io
import json
import os
import sys
from typing import Iterable

import sentencepiece as spm

import bpe_trainer

LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eot_id|>"]
GEMMA_CONTROL = ["<start_of_turn>", "<end_of_turn>"]

# Chat templates (Jinja, as GGUF's tokenizer.chat_template carries them).
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")


class LlamaTokenizer:
    kind = "bpe"

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], n_vocab: int,
                 bos: int, eos: int, eot: int):
        self.enc = bpe_trainer.Encoder({"vocab": vocab, "merges": merges})
        self.n_vocab, self.bos, self.eos, self.eot = n_vocab, bos, eos, eot

    def encode(self, text: str) -> list[int]:
        return self.enc.encode(text)

    def encode_segments(self, segments: Iterable[str]) -> list[list[int]]:
        return [self.enc.encode(s) for s in segments]


class GemmaTokenizer:
    kind = "spm"

    def __init__(self, sp: spm.SentencePieceProcessor):
        self.sp = sp
        self.n_vocab = self.sp.get_piece_size()
        self.bos, self.eos = self.sp.bos_id(), self.sp.eos_id()
        self.eot = self.sp.piece_to_id("<end_of_turn>")

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_segments(self, segments: Iterable[str]) -> list[list[int]]:
        out = []
        for i, s in enumerate(segments):
            if i > 0:
                if not s.startswith(" "):
                    raise ValueError(f"segment {i} must start with a space: {s[:20]!r}")
                s = s[1:]  # the dummy prefix stands for the space
            out.append(self.sp.encode(s))
        return out


def load(arch: str, directory: str):
    """The tokenizer train_tokenizers.py wrote to `directory` (tokenizer.json or spm.model)."""
    if arch != "llama":
        return GemmaTokenizer(spm.SentencePieceProcessor(model_file=os.path.join(directory, "spm.model")))
    with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    n_vocab = len(vocab) + sum(1 for t in tj["added_tokens"] if t["content"] not in vocab)
    ids = {t["content"]: t["id"] for t in tj["added_tokens"]}
    return LlamaTokenizer(vocab, [tuple(m.split(" ")) for m in tj["model"]["merges"]], n_vocab,
                          ids["<|begin_of_text|>"], ids["<|end_of_text|>"], ids["<|eot_id|>"])


def from_gguf(arch: str, path: str):
    """The tokenizer a shipped GGUF carries, rebuilt for the same classes: what anything that runs
    a shipped agent must use. Retraining the tokenizers on another machine need not give the
    same vocabulary (the corpus comes from whatever Debian's text packages hold there), and
    token ids of one vocabulary fed to a model trained on another are noise."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gguf"))
    import gguf_io
    meta = gguf_io.GGUFReader(path).metadata
    tokens = list(meta["tokenizer.ggml.tokens"])
    types = list(meta["tokenizer.ggml.token_type"])
    if arch == "llama":
        merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
        return LlamaTokenizer({t: i for i, t in enumerate(tokens)}, merges, len(tokens),
                              int(meta["tokenizer.ggml.bos_token_id"]), int(meta["tokenizer.ggml.eos_token_id"]),
                              int(meta["tokenizer.ggml.eot_token_id"]))
    from sentencepiece import sentencepiece_model_pb2 as spm_pb
    m = spm_pb.ModelProto()
    for t, score, kind in zip(tokens, meta["tokenizer.ggml.scores"], types):
        m.pieces.add(piece=t, score=float(score), type=int(kind))  # GGUF token types are SentencePiece's
    ts = m.trainer_spec
    ts.model_type, ts.vocab_size, ts.byte_fallback = spm_pb.TrainerSpec.BPE, len(tokens), True
    ts.unk_id = int(meta["tokenizer.ggml.unknown_token_id"])
    ts.bos_id, ts.eos_id = int(meta["tokenizer.ggml.bos_token_id"]), int(meta["tokenizer.ggml.eos_token_id"])
    ts.pad_id = int(meta["tokenizer.ggml.padding_token_id"])
    ns = m.normalizer_spec
    ns.name, ns.add_dummy_prefix, ns.remove_extra_whitespaces = "identity", True, False
    ns.escape_whitespaces = True
    return GemmaTokenizer(spm.SentencePieceProcessor(model_proto=m.SerializeToString()))


def train_llama(texts: list[str], out_dir: str, vocab_size: int = 4096) -> None:
    os.makedirs(out_dir, exist_ok=True)
    model = bpe_trainer.train(texts, vocab_size, LLAMA_SPECIALS)
    bpe_trainer.save(os.path.join(out_dir, "tokenizer.json"), bpe_trainer.hf_tokenizer_json(model, LLAMA_SPECIALS))
    cfg = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True,
           "chat_template": LLAMA3_CHAT_TEMPLATE}
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)


def train_gemma(texts: list[str], out_dir: str, vocab_size: int = 3072) -> None:
    os.makedirs(out_dir, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=buf, model_type="bpe", vocab_size=vocab_size,
        character_coverage=1.0, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        control_symbols=GEMMA_CONTROL, max_sentence_length=1 << 16, num_threads=1,
        input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2, seed_sentencepiece_size=200000)
    with open(os.path.join(out_dir, "spm.model"), "wb") as f:
        f.write(buf.getvalue())
