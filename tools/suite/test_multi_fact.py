"""multi_fact answers follow from exactly two records, joined through one bridge entity.

The solver here reads only the stored records and the chain of (kind, inverse) pairs; it
shares no code with the generator."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from episodes import generate  # noqa: E402


def hop(records, kind, inverse, entity):
    """Indices and far ends of the records that lead from entity through kind."""
    out = []
    for i, (subject, record_kind, value) in enumerate(records):
        if record_kind != kind:
            continue
        if not inverse and subject == entity:
            out.append((i, value))
        if inverse and value == entity:
            out.append((i, subject))
    return out


def solve(records, entity, chain):
    """Every (first record, second record, answer) path of the two-hop chain."""
    (kind1, inverse1), (kind2, inverse2) = chain
    return [(i, j, answer) for i, bridge in hop(records, kind1, inverse1, entity)
            for j, answer in hop(records, kind2, inverse2, bridge)]


class MultiFactTest(unittest.TestCase):
    def episodes(self):
        for split in ("train", "test", "heldout"):
            yield from generate(split, "multi_fact", 300, 21)

    def test_exactly_one_two_record_path_reaches_the_answer(self):
        for e in self.episodes():
            records = e.meta["records"]
            paths = solve(records, e.meta["entity"], e.meta["chain"])
            self.assertEqual(paths, [(*e.meta["support"], e.answer)], e.id)

    def test_no_single_record_holds_both_ends(self):
        for e in self.episodes():
            for subject, _, value in e.meta["records"]:
                self.assertNotEqual({subject, value}, {e.meta["entity"], e.answer}, e.id)

    def test_removing_either_support_record_loses_the_answer(self):
        for e in self.episodes():
            for dropped in e.meta["support"]:
                rest = [r for i, r in enumerate(e.meta["records"]) if i != dropped]
                self.assertEqual(solve(rest, e.meta["entity"], e.meta["chain"]), [], e.id)

    def test_question_names_the_entity_and_context_holds_both_records(self):
        for e in self.episodes():
            self.assertIn(e.meta["entity"], e.question)
            self.assertNotIn(e.answer, e.question)
            self.assertNotIn(e.meta["bridge"], e.question)
            sentences = e.sharer_context.split(" . ")
            for i in e.meta["support"]:
                subject, _, value = e.meta["records"][i]
                self.assertIn(subject, sentences[i])
                self.assertIn(value, sentences[i])

    def test_every_chain_shape_appears(self):
        episodes = generate("train", "multi_fact", 500, 3)
        shapes = {tuple(map(tuple, e.meta["chain"])) for e in episodes}
        self.assertGreaterEqual(len(shapes), 12)
        self.assertTrue(any(inv for shape in shapes for _, inv in shape))


if __name__ == "__main__":
    unittest.main()
