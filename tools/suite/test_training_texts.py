"""The three training formats: question in view, several questions in one text, summary."""
import pathlib
import random
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from episodes import (EXTRA_QUESTIONS, generate, multi_qa_text, qa_prompt,  # noqa: E402
                      summary_of, summary_prompt, training_texts)
from pools import pool_for  # noqa: E402
from test_passkey import numbered_filler  # noqa: E402


def record_episodes():
    for split in ("train", "heldout"):
        for family in ("facts", "multi_fact", "shared_facts"):
            yield from generate(split, family, 60, 8)


def parse_summary(pool, text):
    """Summary text back to (subject, kind, value) triples."""
    labels = {k.label: k.name for k in pool.kinds}
    records = []
    for group in text.split(" . "):
        subject, items = group.rstrip(" .").split(" : ")
        for item in items.split(" ; "):
            label, value = item.split(" ", 1)
            records.append([subject, labels[label], value])
    return records


class TrainingTextsTest(unittest.TestCase):
    def test_question_in_view_comes_first(self):
        for e in record_episodes():
            prompt, target = training_texts(e, random.Random(0))[0]
            self.assertEqual(prompt, qa_prompt(e.sharer_context, e.question))
            self.assertTrue(prompt.endswith(" Answer:"))
            self.assertEqual(target, " " + e.answer)

    def test_extra_questions_are_answered_by_the_context(self):
        for e in record_episodes():
            pairs = training_texts(e, random.Random(1))
            questions = [p for p in pairs if p[0].endswith(" Answer:")
                         and p[0].startswith(e.sharer_context)]
            self.assertLessEqual(len(questions), 1 + EXTRA_QUESTIONS)
            for prompt, target in questions:
                self.assertIn(target.strip(), e.sharer_context)

    def test_summary_restates_every_record(self):
        for e in record_episodes():
            pairs = dict(training_texts(e, random.Random(2)))
            summary = pairs[summary_prompt(e.sharer_context)]
            self.assertEqual(summary, " " + summary_of(e))
            parsed = parse_summary(pool_for(e.split), summary.strip())
            self.assertEqual(sorted(parsed), sorted(e.meta["records"]))
            self.assertLess(len(summary), len(e.sharer_context) + 10)

    def test_the_summary_answers_the_question(self):
        for e in record_episodes():
            pairs = dict(training_texts(e, random.Random(3)))
            self.assertEqual(pairs[qa_prompt(summary_of(e), e.question)], " " + e.answer)

    def test_passkey_summary_is_the_key(self):
        for split, label in (("test", "pass key"), ("heldout", "secret number")):
            for e in generate(split, "passkey", 10, 0, filler=numbered_filler,
                              context_tokens=100):
                self.assertEqual(summary_of(e), f"{label} {e.answer} .")
                pairs = training_texts(e, random.Random(4))
                self.assertEqual(pairs[0], (qa_prompt(e.sharer_context, e.question),
                                            " " + e.answer))

    def test_texts_are_seeded(self):
        e = next(record_episodes())
        self.assertEqual(training_texts(e, random.Random(5)), training_texts(e, random.Random(5)))


class MultiQaTest(unittest.TestCase):
    def test_spans_cover_the_answers_and_the_episodes_own_question(self):
        for e in record_episodes():
            text, spans = multi_qa_text(e, random.Random(6), n_questions=4)
            self.assertTrue(text.startswith(e.sharer_context + " Question: "))
            self.assertLessEqual(len(spans), 4)
            self.assertGreaterEqual(len(spans), min(3, len(e.meta["records"])))
            answers = [text[a:b] for a, b in spans]
            self.assertIn(e.answer, answers)
            self.assertIn(f"Question: {e.question} Answer: {e.answer}", text)
            for (a, b), answer in zip(spans, answers):
                self.assertEqual(text[a - len(" Answer: "):a], " Answer: ")
                self.assertIn(text[b:b + 11], ("", " Question: "))
                self.assertIn(answer, e.sharer_context)

    def test_ordered_spans(self):
        e = next(record_episodes())
        _, spans = multi_qa_text(e, random.Random(7), n_questions=6)
        self.assertEqual(spans, sorted(spans))
        self.assertTrue(all(b < c for (_, b), (c, _) in zip(spans, spans[1:])))


if __name__ == "__main__":
    unittest.main()
