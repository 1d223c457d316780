"""Exact-match scoring: normalisation, cutting generations, whole-word containment, the CLI."""
import contextlib
import io
import json
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from score import (accuracy_by_group, contains_phrase, cut_answer, exact_match,  # noqa: E402
                   main, normalize)


class NormalizeTest(unittest.TestCase):
    def test_case_punctuation_and_whitespace(self):
        self.assertEqual(normalize("  Carl\tDIAZ!! "), "carl diaz")
        self.assertEqual(normalize("Oak-Farm."), "oak farm")
        self.assertEqual(normalize("snake_case"), "snake case")

    def test_spaces_between_digits_do_not_count(self):
        self.assertEqual(normalize("4 1 9 3"), "4193")
        self.assertEqual(normalize("4193"), "4193")
        self.assertEqual(normalize("1 2 May"), "12 may")


class ExactMatchTest(unittest.TestCase):
    def test_equal_after_normalisation(self):
        self.assertTrue(exact_match(" 4 1 9 3", "4 1 9 3"))
        self.assertTrue(exact_match("4193", "4 1 9 3"))
        self.assertTrue(exact_match(" carl diaz.", "Carl Diaz"))

    def test_generation_is_cut_at_the_first_stop(self):
        self.assertTrue(exact_match(" 4 1 9 3 . Bob Smith lives at Oak Farm .", "4 1 9 3"))
        self.assertTrue(exact_match(" red Question: What", "red"))
        self.assertTrue(exact_match(" Oak Farm\nmore", "Oak Farm"))
        self.assertEqual(cut_answer(" 1 2 May . x"), " 1 2 May")
        self.assertEqual(cut_answer("no stop here"), "no stop here")

    def test_near_misses_fail(self):
        self.assertFalse(exact_match("4 1 9", "4 1 9 3"))
        self.assertFalse(exact_match("4 1 9 3 7", "4 1 9 3"))
        self.assertFalse(exact_match("Carl", "Carl Diaz"))
        self.assertFalse(exact_match("", "red"))
        self.assertFalse(exact_match("reds", "red"))


class ContainsTest(unittest.TestCase):
    def test_whole_words_only(self):
        self.assertTrue(contains_phrase("Bob likes red .", "red"))
        self.assertFalse(contains_phrase("Bob likes redder wine .", "red"))
        self.assertTrue(contains_phrase("code 4 1 9 3 .", "4193"))
        self.assertFalse(contains_phrase("code 4 1 9 3 2 .", "4 1 9 3"))
        self.assertTrue(contains_phrase("The owner is CARL DIAZ.", "Carl Diaz"))


class CliTest(unittest.TestCase):
    def test_accuracy_per_split_and_family(self):
        groups = accuracy_by_group([("test", "facts", True), ("test", "facts", False),
                                    ("heldout", "passkey", True)])
        self.assertEqual(groups["test/facts"], {"n": 2, "correct": 1, "accuracy": 0.5})
        self.assertEqual(groups["heldout/passkey"]["accuracy"], 1.0)

    def test_main_scores_a_predictions_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            episodes, predictions = pathlib.Path(tmp, "e.jsonl"), pathlib.Path(tmp, "p.jsonl")
            episodes.write_text("".join(json.dumps(e) + "\n" for e in [
                {"id": "a", "split": "test", "family": "facts", "answer": "4 1 9 3"},
                {"id": "b", "split": "test", "family": "facts", "answer": "red"},
                {"id": "c", "split": "test", "family": "facts", "answer": "blue"}]))
            predictions.write_text("".join(json.dumps(p) + "\n" for p in [
                {"id": "a", "prediction": " 4 1 9 3 ."}, {"id": "b", "prediction": "blue"}]))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(main(["score.py", str(episodes), str(predictions)]), 0)
        self.assertIn("test/facts", out.getvalue())
        self.assertIn("1 /     3  0.333", out.getvalue())


if __name__ == "__main__":
    unittest.main()
