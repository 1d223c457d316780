"""Corpus cleaning on small synthetic input: ASCII folding, garbage, splitting, duplicates."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from clean import (CleanParams, Deduplicator, clean_document, clean_text,  # noqa: E402
                   is_garbage, split_long, split_sentences, to_ascii)


class ToAsciiTest(unittest.TestCase):
    def test_quotes_dashes_and_ellipsis_get_ascii_spellings(self):
        self.assertEqual(to_ascii("\u201cNo\u201d \u2014 it\u2019s 3\u20134\u2026"),
                         "\"No\"  --  it's 3-4...")

    def test_accents_are_stripped_and_ligatures_spelled_out(self):
        self.assertEqual(to_ascii("caf\u00e9 na\u00efve \u00c6sop stra\u00dfe"),
                         "cafe naive AEsop strasse")

    def test_other_non_ascii_is_dropped(self):
        self.assertEqual(to_ascii("snow \u2603 man \u4e2d"), "snow  man ")

    def test_terminal_overstrike_and_controls_are_removed(self):
        self.assertEqual(to_ascii("_\bb_\bo_\bl_\bd and\x07 bell"), "bold and  bell")

    def test_clean_text_collapses_whitespace(self):
        self.assertEqual(clean_text("  two\t\tspaces \n and\r\nlines  "), "two spaces and lines")


class GarbageTest(unittest.TestCase):
    def test_short_lines_are_garbage(self):
        self.assertTrue(is_garbage("Too short."))
        self.assertTrue(is_garbage("Twowords onlyhereok"))       # long enough, 2 words

    def test_prose_is_kept(self):
        self.assertFalse(is_garbage("In the beginning God created the heaven and the earth."))

    def test_mostly_symbols_or_digits_are_garbage(self):
        self.assertTrue(is_garbage("12 34 56 78 90 12 34 56 ab"))
        self.assertTrue(is_garbage("| | /\\ | | \\/ | | a b c"))

    def test_ascii_art_strokes_are_garbage(self):
        self.assertTrue(is_garbage("here is a box +------+ with a frame around"))


class SplittingTest(unittest.TestCase):
    def test_sentences_split_at_capitals_after_stops(self):
        self.assertEqual(split_sentences('He came. "Go!" she said. e.g. not here. Done?'),
                         ["He came.", '"Go!" she said. e.g. not here.', "Done?"])

    def test_long_lines_are_packed_under_the_limit(self):
        line = " ".join(f"Sentence number {i} is here." for i in range(40))
        pieces = split_long(line, 120)
        self.assertGreater(len(pieces), 1)
        self.assertTrue(all(len(p) <= 120 for p in pieces))
        self.assertEqual(" ".join(pieces), line)

    def test_short_lines_are_left_alone(self):
        self.assertEqual(split_long("Short one. Two.", 100), ["Short one. Two."])


class DocumentTest(unittest.TestCase):
    def test_clean_document_drops_garbage_and_keeps_order(self):
        doc = ["  The first   line of prose here. ", "%%%%%%%%", "ok",
               "The second \u2018quoted\u2019 line of prose."]
        self.assertEqual(clean_document(doc),
                         ["The first line of prose here.", "The second 'quoted' line of prose."])

    def test_params_change_the_limits(self):
        self.assertEqual(clean_document(["one two six"], CleanParams(min_chars=5)),
                         ["one two six"])
        self.assertEqual(clean_document(["one two six"]), [])

    def test_duplicates_are_dropped_across_calls_case_insensitively(self):
        dedup = Deduplicator()
        self.assertEqual(dedup.filter(["A line of text.", "Another line.", "A line of text."]),
                         ["A line of text.", "Another line."])
        self.assertEqual(dedup.filter(["a LINE of text.", "New line here."]), ["New line here."])


if __name__ == "__main__":
    unittest.main()
