"""Freshly invented pools for the agents' training: new names, attribute kinds and templates in
every sample, so that the lookup they learn is "find the record whose subject and relation the
question names, copy its value" rather than the seven kinds and 21 templates of pools.TRAIN.

The suite's held-out split (pools.HELDOUT) measures reading facts of a shape never seen in
training, and stays that way: nothing here is drawn from it. Names are made of syllables and
never equal a held-out name or place word; attribute words, verbs and value words exclude every
word of the held-out pool (its names, kinds, labels, values and template words, function words
aside); and no template made here has the skeleton of a held-out template (test_varied_pool.py).
What carries over is generic English ("The X of Y is Z", "Y V Z"), which the training pool
already has.
"""
from __future__ import annotations

import functools
import random
import re
import sys
import os
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
for sub in ("suite", "corpus"):
    sys.path.insert(0, os.path.join(HERE, "..", sub))
import build_corpus  # noqa: E402
import pools  # noqa: E402

# Words the held-out pool's templates share with everyday English and that a template here may
# use as its frame.
FUNCTION_WORDS = {"of", "the", "is", "on", "at", "in", "by", "was", "what", "which", "who",
                  "does", "do", "where", "when", "a", "to", "it", "number", "date", "place"}

ATTRIBUTE_WORDS = (
    "badge", "ticket", "token", "seat", "room", "desk", "shelf", "cabin", "permit", "licence",
    "motto", "hobby", "tool", "hat", "coat", "boat", "car", "lamp", "book", "song", "dish",
    "flower", "tree", "stone", "metal", "gem", "bird", "fish", "flag", "drink", "herb",
    "spice", "game", "dance", "craft", "trade", "rank", "team", "club", "guild", "school",
    "island", "river", "city", "street", "garden", "field", "tower", "shield", "banner")
# (third person, base form): "Bob carries ...", "What does Bob carry ?"
VERBS = (("carries", "carry"), ("wears", "wear"), ("holds", "hold"), ("wants", "want"),
         ("grows", "grow"), ("sells", "sell"), ("paints", "paint"), ("reads", "read"),
         ("sings", "sing"), ("guards", "guard"), ("builds", "build"), ("brings", "bring"),
         ("finds", "find"), ("studies", "study"), ("collects", "collect"), ("visits", "visit"),
         ("watches", "watch"), ("follows", "follow"), ("names", "name"), ("draws", "draw"))
PLACE_TAILS = ("Park", "Yard", "Garden", "Field", "Gate", "Inn", "Dock", "Square", "Market",
               "Bank", "Station", "Camp", "Row", "End", "Green", "Cross", "Well", "Point",
               "Hollow", "Heath")
SYLLABLES = ("ba", "ko", "ri", "ta", "mel", "dor", "vi", "sen", "lu", "gar", "pe", "zan",
             "tor", "mi", "ra", "nel", "fo", "ki", "sa", "bren", "do", "lin", "har", "ve",
             "mo", "jas", "ul", "ten", "cor", "wy", "es", "pra", "gil", "nu", "ob", "tes")
VALUE_TYPES = ("digits", "date", "person", "place", "words", "words")


@functools.lru_cache(maxsize=1)
def heldout_words() -> frozenset[str]:
    """Every word of the held-out pool but the function words (a constant: computed once, not
    per invented pool)."""
    p = pools.HELDOUT
    text = [*p.first_names, *p.last_names, *p.place_heads, *p.place_tails, *p.passkey_records,
            *p.passkey_questions, p.passkey_label]
    for k in p.kinds:
        text += [k.name, k.label, *k.records, *k.questions, *k.np, *k.inverse_questions,
                 *k.inverse_np]
        if isinstance(k.value, tuple):
            text += list(k.value)
    words = {w for t in text for w in re.findall(r"[a-z]+", re.sub(r"\{\w\}", " ", t).lower())}
    return frozenset(words - FUNCTION_WORDS)


def value_words(text: str, skip: int = 300, take: int = 4000) -> tuple[str, ...]:
    """Lower-case words of text of middling frequency (ranks skip..take), none of the held-out
    pool's."""
    counts = Counter(re.findall(r"\b[a-z]{4,9}\b", text))
    banned = heldout_words() | FUNCTION_WORDS
    return tuple(w for w, _ in counts.most_common(take)[skip:] if w not in banned)


@functools.lru_cache(maxsize=1)
def value_bank() -> tuple[str, ...]:
    return value_words(build_corpus.load_corpus("train"))


def invent_name(rng: random.Random, banned: frozenset[str]) -> str:
    while True:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        if word.lower() not in banned:
            return word


def _kind(rng: random.Random, index: int, word: str, verb: tuple[str, str], value: str | tuple,
          subject: str) -> pools.Kind:
    """A kind worded by its attribute noun ("The badge of Bob is ...") or, one time in three,
    by its verb ("Bob carries ..."): records and questions always share that word, as the
    training pool's do, so the question says which record it asks."""
    third, base = verb
    if rng.random() < 1 / 3:
        records = (f"{{s}} {third} {{v}} .", f"{{s}} {third} the {{v}} .",
                   f"{{s}} often {third} {{v}} .")
        questions = (f"What does {{s}} {base} ?", f"Which one does {{s}} {base} ?")
        label = third
    else:
        shapes = (f"The {word} of {{s}} is {{v}} .", f"{{s}} has {word} {{v}} .",
                  f"{word.capitalize()} of {{s}} : {{v}} .", f"{{s}} {word} {{v}} .",
                  f"For {{s}} the {word} is {{v}} .")
        records = tuple(rng.sample(shapes, 3))
        questions = (f"What is the {word} of {{s}} ?", f"Which {word} does {{s}} have ?")
        label = word
    inverse_q: tuple[str, ...] = ()
    inverse_np: tuple[str, ...] = ()
    if value in ("person", "place"):
        who = "Who" if subject == "person" else "Which place"
        inverse_q = ((f"{who} {third} {{s}} ?",) if label == third
                     else (f"Whose {word} is {{s}} ?", f"{who} has {word} {{s}} ?"))
        inverse_np = ((f"the one who {third} {{x}}",) if label == third
                      else (f"the one whose {word} is {{x}}",))
    return pools.Kind(name=f"k{index}_{word}", subject=subject, value=value, label=label,
                      records=records, questions=questions,
                      np=(f"what {{x}} {third}",) if label == third else (f"the {word} of {{x}}",),
                      inverse_questions=inverse_q, inverse_np=inverse_np)


def invent_pool(rng: random.Random, n_kinds: int = 6, bank: tuple[str, ...] | None = None
                ) -> pools.Pool:
    """A pool of its own: 12 first names, 12 surnames, 8 x 4 places, n_kinds kinds; word values
    from bank (default: the corpus's, value_bank())."""
    banned = heldout_words()
    firsts = sorted({invent_name(rng, banned) for _ in range(12)})
    lasts = sorted({invent_name(rng, banned) for _ in range(12)})
    heads = sorted({invent_name(rng, banned) for _ in range(8)})
    bank = bank or value_bank()
    words = rng.sample(ATTRIBUTE_WORDS, n_kinds)
    verbs = rng.sample(VERBS, n_kinds)
    kinds = []
    for i, (word, verb) in enumerate(zip(words, verbs)):
        vt = rng.choice(VALUE_TYPES)
        value = tuple(rng.sample(bank, 12)) if vt == "words" else vt
        subject = "place" if vt == "person" and rng.random() < 0.5 else "person"
        kinds.append(_kind(rng, i, word, verb, value, subject))
    return pools.Pool(name="varied", first_names=tuple(firsts), last_names=tuple(lasts),
                      place_heads=tuple(heads), place_tails=tuple(rng.sample(PLACE_TAILS, 4)),
                      kinds=tuple(kinds), passkey_records=(), passkey_questions=(),
                      passkey_label="")
