"""Source readers on synthetic files shaped like the Debian packages' data."""
import gzip
import os
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gcide_text import _B64, decode_b64, entry_definitions, read_gcide, strip_markup  # noqa: E402
from sources import (SourcePaths, parse_bible_listing, parse_fortune_file,  # noqa: E402
                     parse_wordnet_line, read_fortunes)

ABANDON = '''Abandon \\A*ban"don\\ ([.a]*b[a^]n"d[u^]n), v. t. [imp. & p. p.
   {Abandoned} (-d[u^]nd); p. pr. & vb. n. {Abandoning}.] [OF.
   abandoner, F. abandonner. See {Ban}.]
   1. To cast or drive out; to banish; to expel; to reject.
      [Obs.]
      [1913 Webster]

            That he might . . . abandon them from him. --Udall.
      [1913 Webster]

   2. To give up absolutely; to forsake entirely. --Shak.
      [1913 Webster]

   Syn: To give up; yield; forego; cede; surrender.

   Note: The caf['e] sense is {rare}.
         [1913 Webster]
'''


def b64(value: int) -> str:
    digits = ""
    while True:
        digits = _B64[value % 64] + digits
        value //= 64
        if not value:
            return digits


class GcideTest(unittest.TestCase):
    def test_base64_numbers(self):
        self.assertEqual(decode_b64("A"), 0)
        self.assertEqual(decode_b64("BA"), 64)
        for value in (0, 5, 63, 64, 4096, 13527370):
            self.assertEqual(decode_b64(b64(value)), value)

    def test_entry_keeps_senses_and_notes_only(self):
        self.assertEqual(entry_definitions(ABANDON), [
            "Abandon: To cast or drive out; to banish; to expel; to reject.",
            "To give up absolutely; to forsake entirely.",
            "The cafe sense is rare."])

    def test_markup_is_stripped(self):
        self.assertEqual(strip_markup('Of {Grav"i*ty} [Obs.] na[imac]ve stuff. --Milton.'),
                         "Of naive stuff.")

    def test_read_gcide_uses_the_index(self):
        second = "Bell \\Bell\\, n.\n   A hollow metallic vessel that rings.\n   [1913 Webster]\n"
        data = (ABANDON + "\n" + second).encode()
        with tempfile.TemporaryDirectory() as tmp:
            dict_path, index_path = os.path.join(tmp, "x.dict.dz"), os.path.join(tmp, "x.index")
            with gzip.open(dict_path, "wb") as f:
                f.write(data)
            start = len(ABANDON) + 1
            with open(index_path, "w") as f:
                f.write("00-database-info\tA\tK\n")
                f.write(f"Abandon\tA\t{b64(len(ABANDON))}\n")
                f.write(f"Bell\t{b64(start)}\t{b64(len(second))}\n")
                f.write(f"Bells\t{b64(start)}\t{b64(len(second))}\n")   # same span twice
            documents = read_gcide(dict_path, index_path)
        self.assertEqual(len(documents), 2)
        self.assertEqual(documents[1], ["Bell: A hollow metallic vessel that rings."])


class FortunesTest(unittest.TestCase):
    def test_percent_lines_separate_fortunes(self):
        text = "First fortune\n  on two lines.\n%\nSecond one.\n%\n\n%\n"
        self.assertEqual(parse_fortune_file(text),
                         [["First fortune on two lines."], ["Second one."]])

    def test_reader_skips_indexes_links_art_and_offensive(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in (("wisdom", "Be kind.\n%\n"), ("wisdom.dat", "binary"),
                               ("ascii-art", "  /\\_/\\\n%\n")):
                pathlib.Path(tmp, name).write_text(text)
            os.symlink("wisdom", os.path.join(tmp, "wisdom.u8"))
            os.mkdir(os.path.join(tmp, "off"))
            pathlib.Path(tmp, "off", "rude").write_text("Rude.\n%\n")
            documents = read_fortunes(SourcePaths(fortunes_dir=tmp))
        self.assertEqual(documents, [["Be kind."]])


class BibleAndWordnetTest(unittest.TestCase):
    def test_verses_group_into_chapters(self):
        listing = ("Ge1:1 In the beginning.\nGe1:2 And the earth.\nGe2:1 Thus the heavens.\n"
                   "1Jn1:1 That which was.\nnot a verse\n")
        self.assertEqual(parse_bible_listing(listing), [
            ["In the beginning.", "And the earth."], ["Thus the heavens."], ["That which was."]])

    def test_wordnet_gloss_with_lemma(self):
        line = ("00020103 00 s 02 outback(a) 0 remote 0 003 & 00019874 a 0000 | "
                "inaccessible and sparsely populated;  \n")
        self.assertEqual(parse_wordnet_line(line),
                         "outback: inaccessible and sparsely populated;")
        self.assertIsNone(parse_wordnet_line("02 n 01 ice_cream 0 000 | a frozen dessert"))
        self.assertEqual(parse_wordnet_line("00000001 03 n 01 ice_cream 0 000 | a frozen dessert"),
                         "ice cream: a frozen dessert")
        self.assertIsNone(parse_wordnet_line("  1 This software and database is licensed"))


if __name__ == "__main__":
    unittest.main()
