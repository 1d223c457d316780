"""The invented training pools never draw on the held-out pool: no held-out name, kind, value or
template word, and no template with a held-out template's skeleton."""
import os
import random
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import pools  # noqa: E402
import records as rec  # noqa: E402
import varied_pool as vp  # noqa: E402
from test_pools import skeleton, templates  # noqa: E402

BANK = tuple(f"word{c}" for c in "abcdefghijklmnopqrstuvwxyz")


def pool_texts(pool: pools.Pool) -> list[str]:
    return [*pool.first_names, *pool.last_names, *pool.place_heads, *pool.place_tails,
            *templates(pool), *(v for k in pool.kinds if isinstance(k.value, tuple)
                                for v in k.value), *(k.label for k in pool.kinds)]


class VariedPoolTest(unittest.TestCase):
    def test_no_heldout_word_or_template(self):
        banned = vp.heldout_words()
        heldout = {skeleton(t) for t in templates(pools.HELDOUT)}
        rng = random.Random(7)
        for _ in range(300):
            pool = vp.invent_pool(rng, bank=BANK)
            words = {w for t in pool_texts(pool)
                     for w in re.findall(r"[a-z]+", re.sub(r"\{\w\}", " ", t).lower())}
            self.assertEqual(words & banned, set())
            self.assertEqual({skeleton(t) for t in templates(pool)} & heldout, set())

    def test_value_words_drop_heldout_words(self):
        text = "apple " * 5 + "violin " * 4 + "meadow " * 3 + "lantern " * 2 + "ox"
        self.assertEqual(vp.value_words(text, skip=0), ("meadow",))

    def test_questions_name_the_word_their_records_use(self):
        rng = random.Random(3)
        for _ in range(100):
            for kind in vp.invent_pool(rng, bank=BANK).kinds:
                for q in kind.questions:
                    word = kind.label if kind.label in q else None
                    if word is None:  # verb kinds: the base form of the records' verb
                        word = next(v[1] for v in vp.VERBS if v[0] == kind.label)
                    self.assertIn(word, q)
                    for r in kind.records:
                        self.assertIn(kind.label, r.lower())

    def test_worlds_and_questions_build(self):
        rng = random.Random(11)
        for _ in range(50):
            pool = vp.invent_pool(rng, bank=BANK)
            b = rec.WorldBuilder(rng, pool)
            b.fill(12)
            for r in b.records:
                rel = rec.Relation(pool.kind(r.kind))
                q, a = rec.fact_question(rng, rel, r)
                self.assertEqual(a, r.value)
                self.assertIn(r.subject, q)


if __name__ == "__main__":
    unittest.main()
