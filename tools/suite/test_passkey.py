"""Passkey episodes: depth spread, recorded depth, length control, clean filler."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from episodes import generate  # noqa: E402
from pools import HELDOUT, TRAIN  # noqa: E402
from score import contains_phrase  # noqa: E402


def numbered_filler(rng):
    """Sentences of 5-15 words that name their own number, so positions can be read back."""
    i = 0
    while True:
        i += 1
        yield " ".join(["Sentence"] + ["word"] * rng.randint(3, 13) + [f"n{i}."])


def make(n, split="test", seed=0, **opts):
    opts.setdefault("filler", numbered_filler)
    opts.setdefault("context_tokens", (200, 300))
    return generate(split, "passkey", n, seed, **opts)


class DepthTest(unittest.TestCase):
    def test_depths_spread_evenly(self):
        depths = [e.meta["depth"] for e in make(1000)]
        bins = [0] * 5
        for depth in depths:
            bins[min(int(depth * 5), 4)] += 1
        for count in bins:
            self.assertGreater(count, 150, bins)
            self.assertLess(count, 250, bins)
        self.assertAlmostEqual(sum(depths) / len(depths), 0.5, delta=0.04)

    def test_recorded_depth_is_where_the_key_sits(self):
        for e in make(200):
            before, after = e.sharer_context.split(e.meta["key_sentence"])
            words_before, words_after = len(before.split()), len(after.split())
            self.assertAlmostEqual(e.meta["depth"], words_before / (words_before + words_after),
                                   places=3)


class LengthAndContentTest(unittest.TestCase):
    def test_word_count_reaches_the_target_by_less_than_a_sentence(self):
        for e in make(200, context_tokens=(250, 260)):
            self.assertGreaterEqual(e.meta["n_tokens"], e.meta["context_tokens"])
            self.assertLess(e.meta["n_tokens"], e.meta["context_tokens"] + 15)
            self.assertEqual(e.meta["n_tokens"], len(e.sharer_context.split()))

    def test_a_callers_token_counter_sets_the_length(self):
        # Sentences are counted one by one: the joining spaces and the last sentence overshoot.
        for e in make(50, context_tokens=3000, count_tokens=len):
            self.assertGreaterEqual(len(e.sharer_context), 3000)
            self.assertLess(len(e.sharer_context), 3000 + 80 + 60)
            self.assertEqual(e.meta["n_tokens"], len(e.sharer_context))

    def test_key_once_in_sharer_context_never_in_receiver_context(self):
        for split in ("train", "heldout"):
            for e in make(200, split):
                self.assertEqual(e.sharer_context.count(e.answer), 1)
                self.assertRegex(e.answer, r"^\d( \d){4}$")
                self.assertFalse(contains_phrase(e.receiver_context, e.answer))
                self.assertGreaterEqual(len(e.receiver_context.split()), 128)

    def test_templates_come_from_the_splits_pool(self):
        for split, pool in (("dev", TRAIN), ("heldout", HELDOUT)):
            for e in make(50, split):
                self.assertIn(e.question, pool.passkey_questions)
                self.assertIn(e.meta["key_sentence"],
                              [t.format(k=e.answer) for t in pool.passkey_records])

    def test_filler_about_keys_is_skipped(self):
        def tricky(rng):
            while True:
                yield "The pass key is not here at all."
                yield "Question: what secret number is it?"
                yield "A plain sentence about the weather today."
        for e in make(20, filler=tricky, context_tokens=100):
            self.assertEqual(e.sharer_context.lower().count("pass key"), 1)
            self.assertNotIn("Question", e.receiver_context)

    def test_passkey_digits_option(self):
        for e in make(10, passkey_digits=7):
            self.assertEqual(len(e.answer.split()), 7)


if __name__ == "__main__":
    unittest.main()
