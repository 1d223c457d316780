"""Definitions out of GCIDE, the dictd edition of Webster's 1913 (Debian's dict-gcide).

The dictionary is a dictzip file (a gzip stream) plus an index of `headword TAB offset TAB
length`, numbers in dictd's base64. An entry reads:

    Abandon \\A*ban"don\\ ([.a]*b[a^]n"d[u^]n), v. t. [imp. & p. p. {Abandoned} ...]
       1. To cast or drive out; to banish; to expel; to reject.
          [1913 Webster]

                That he might . . . abandon them from him. --Udall.

       Syn: To give up; yield; forego; ...

We keep the senses, notes and run-in phrases as prose: the header (headword, pronunciation,
part of speech, etymology), quotations, synonym lists, source tags and accent codes go.
"""
from __future__ import annotations

import gzip
import re

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# Accent and letter codes written in brackets: [a^] [=e] ['e] [ae] [imac] [aum] ...
_CHAR_CODE = re.compile(r"\[([^\[\]\sA-Z]{1,6})\]")
_NAMED_CODES = {"imac": "i", "aum": "a", "eth": "th", "thorn": "th", "root": "", "deg": "",
                "asl": "", "add": "", "ng": "ng", "th": "th", "oo": "oo", "ae": "ae", "oe": "oe"}
_PRONUNCIATION = re.compile(r"\\[^\\\n]*\\")
_ATTRIBUTION = re.compile(r"\s--\s?[A-Z][\w.']*(?:\s+(?:[A-Z][\w.']*|of|de|von))*\.?")
# "1. ", "(a) " or "(Bot.) 1. " opening a sense: the number goes, a field label stays.
_SENSE_MARK = re.compile(r"^(\([A-Z][^()]*\)\s*)?(?:\d+\.|\([a-z]\))\s*")
_PART_OF_SPEECH = re.compile(r"^[\s,;.]*(?:(?:[a-z]{1,5}\.|&|or)[\s,;.]*)+")
# Words spelled with pronunciation marks, as in `-- {Grav"i*met"ric*al*ly}, adv.`
_MARKED_WORD = re.compile(r"(?:\s*--\s*)?\{[^{}]*[*\"`][^{}]*\}(?:,\s*(?:[a-z]{1,5}\.\s*)+)?")
_MARKED_PARENS = re.compile(r"\([^()]*[?\"*`][^()]*\)")
# A '?' inside or before a lowercase word stands for a letter lost upstream: drop the line.
_LOST_LETTER = re.compile(r"[A-Za-z]\?(?:[A-Za-z]| [a-z])")
_QUOTATION_INDENT = 6     # quotation blocks sit deeper than senses (3) and their lines (6)


def decode_b64(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 64 + _B64.index(ch)
    return value


def _char_code(match: re.Match) -> str:
    code = match.group(1)
    if code in _NAMED_CODES:
        return _NAMED_CODES[code]
    return "".join(ch for ch in code if ch.isalpha())


def _drop_brackets(text: str) -> str:
    """Removes [...] groups, nested ones included (etymologies and source tags)."""
    out, depth = [], 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def strip_markup(text: str) -> str:
    """Plain prose from one paragraph: accent codes spelled out, brackets, braces,
    pronunciations and `--Author` attributions removed."""
    text = _PRONUNCIATION.sub("", text)
    text = _MARKED_WORD.sub("", text)
    text = _MARKED_PARENS.sub("", text)
    text = _CHAR_CODE.sub(_char_code, text)
    text = _drop_brackets(text)
    text = text.replace("{", "").replace("}", "")
    text = _ATTRIBUTION.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def _drop_header(paragraph: str) -> str:
    """The first paragraph minus `Headword \\pron\\ (pron), pos. [etymology]`."""
    match = _PRONUNCIATION.search(paragraph)
    if not match:
        return ""
    rest = paragraph[match.end():]
    rest = re.sub(r"^\s*\([^()]*\)", "", rest)     # a second pronunciation in parentheses
    rest = strip_markup(rest)
    return _PART_OF_SPEECH.sub("", rest, count=1).lstrip(" .,;:")


def entry_definitions(entry: str) -> list[str]:
    """The prose paragraphs of one dictionary entry, one string each."""
    paragraphs = re.split(r"\n[ \t]*\n", entry.strip("\n"))
    out = []
    for i, paragraph in enumerate(paragraphs):
        first = paragraph.split("\n", 1)[0]
        indent = len(first) - len(first.lstrip(" "))
        if i == 0:
            text = _drop_header(paragraph)
        elif indent >= _QUOTATION_INDENT:
            continue
        else:
            text = strip_markup(paragraph)
        if re.match(r"(Syn|See also)\s*[:.]", text):
            continue
        text = re.sub(r"^(Note|Usage)\s*:\s*", "", text)
        text = _SENSE_MARK.sub(r"\1", text).strip(" ,;")
        if text and not _LOST_LETTER.search(text):
            out.append(text)
    if out:
        out[0] = f"{headword(entry)}: {out[0]}"
    return out


def headword(entry: str) -> str:
    """The word an entry defines: its first line up to the pronunciation."""
    return entry.lstrip("\n").split("\\", 1)[0].split("\n", 1)[0].strip()


def read_gcide(dict_path: str, index_path: str) -> list[list[str]]:
    """All entries as documents (lists of definition lines), in dictionary order."""
    with gzip.open(dict_path) as f:
        data = f.read()
    spans = set()
    with open(index_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or fields[0].startswith("00-"):
                continue
            spans.add((decode_b64(fields[1]), decode_b64(fields[2])))
    documents = []
    for offset, length in sorted(spans):
        entry = data[offset:offset + length].decode("utf-8", errors="replace")
        definitions = entry_definitions(entry)
        if definitions:
            documents.append(definitions)
    return documents
