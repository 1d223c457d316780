"""Lining up two tokenizations of the same text, for the C2C fuser (LCF.md, "C2C fuser").

Both agents prefilled the same text with their own tokenizers; the fuser pairs every receiver
token with one sharer token by the bytes they stand for:

  spans = token_spans(agent, text)            # per context token [begin, end) byte offsets
  align = align_tokens(receiver_spans, sharer_spans)   # per receiver token: a sharer token index

Rule: a receiver token takes the sharer token whose span contains the receiver token's last
byte (the sharer token that has read at least as far into the text). A token whose span is
empty stands for no text: BOS, and SentencePiece's lone dummy-prefix piece "▁" when the text's
first word is split off it. Such a token at offset p takes the sharer token holding byte p - 1,
the last text both have read; at offset 0 (nothing read yet) it takes sharer token 0, the
sharer's BOS. So BOS aligns to BOS. Offsets are bytes of the UTF-8 text (the suite's texts are
ASCII, where bytes and characters coincide). engine/adapter/c2c_align.cc is the same rule in C++.
"""
from __future__ import annotations

import bisect
import re

import bpe_trainer

_BYTE_OF = {c: b for b, c in bpe_trainer.BYTE_CHARS.items()}
_SPM_BYTE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def _piece_bytes(agent):
    """A function giving the text bytes one token of `agent` stands for (SentencePiece's dummy
    prefix included). Byte-level BPE pieces are bytes written as printable characters;
    SentencePiece pieces are text with U+2581 for a space, or <0xXX> for a byte."""
    tok = agent.tok
    if tok.kind == "bpe":
        pieces = {i: p for p, i in tok.enc.vocab.items()}
        return lambda t: bytes(_BYTE_OF[c] for c in pieces[t])

    def spm(t: int) -> bytes:
        piece = tok.sp.id_to_piece(t)
        m = _SPM_BYTE.match(piece)
        return bytes([int(m.group(1), 16)]) if m else piece.replace("\u2581", " ").encode("utf-8")
    return spm


def token_spans(agent, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """The context ids the handoff prefills ([BOS] + the text's tokens) and each one's span.
    BOS gets (0, 0). SentencePiece writes a dummy space before the text: offsets are moved back
    by one and clamped at 0, so a first piece "▁The" spans (0, 3) and a lone "▁" (0, 0)."""
    ids = agent.tok.encode(text)
    data = text.encode("utf-8")
    piece_bytes = _piece_bytes(agent)
    lead = 1 if agent.tok.kind == "spm" else 0
    spans, at = [(0, 0)], -lead
    for t in ids:
        n = len(piece_bytes(t))
        spans.append((max(at, 0), max(at + n, 0)))
        at += n
    # The pieces must spell the text exactly, or the offsets mean nothing.
    spelled = b"".join(piece_bytes(t) for t in ids)
    if spelled != b" " * lead + data:
        raise ValueError(f"{agent.name}: tokens do not spell the text: {spelled[:60]!r} vs {data[:60]!r}")
    return [agent.tok.bos] + ids, spans


def align_tokens(receiver: list[tuple[int, int]], sharer: list[tuple[int, int]]) -> list[int]:
    """For every receiver span, the index of its sharer token (see the module comment).
    Raises ValueError for a span that is not a byte range, no sharer tokens, sharer spans that
    overlap, or a byte the receiver needs that no sharer token covers (as the C++ does)."""
    if not sharer:
        raise ValueError("sharer: no tokens to align to")
    for side, spans in (("sharer", sharer), ("receiver", receiver)):
        for j, (b, e) in enumerate(spans):
            if b < 0 or e < b:
                raise ValueError(f"{side} token {j}: span [{b}, {e}) is not a byte range")
    starts, ends, index = [], [], []
    for j, (b, e) in enumerate(sharer):
        if e > b:
            if starts and b < ends[-1]:
                raise ValueError(f"sharer span {j} overlaps the one before it")
            starts.append(b)
            ends.append(e)
            index.append(j)
    out = []
    for i, (b, e) in enumerate(receiver):
        last = e - 1 if e > b else b - 1
        if last < 0:
            out.append(0)
            continue
        k = bisect.bisect_right(starts, last) - 1
        if k < 0 or last >= ends[k]:
            raise ValueError(f"receiver token {i}: byte {last} is in no sharer token")
        out.append(index[k])
    return out
