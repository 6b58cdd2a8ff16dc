"""Which encoding a table of texts was saved in: detected (chardet 7's language models; the winner must
decode the whole file), or chosen by the person. Never a silent fallback: a file that fits no encoding is
refused with what to do, and an uncertain guess says so.

Excel saves CSVs in the computer's legacy code page: GB18030/GBK in mainland China, Big5 in
Taiwan and Hong Kong, Shift-JIS (cp932) in Japan, EUC-KR (cp949) in Korea, Windows-1251 for
Cyrillic, Windows-1252 in Western Europe; "CSV UTF-8" and UTF-16 ("Unicode text") otherwise.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field

from core.errors import UserError
from core.i18n import N_, Text, _, lazy

# What Excel writes where the detector names a relative: decoding with the superset decodes every file of
# the subset identically, and more besides (GBK-only characters in a file called GB2312); Windows' own
# variants (cp950, cp932, cp874) map a few symbols differently ("～"), so they are tried first and kept
# when they decode the whole file. First the one to try, then the fallback.
PREFERRED = {"ascii": ("utf_8",), "gb2312": ("gb18030",), "gbk": ("gb18030",), "hz": ("hz",),
             "big5": ("cp950", "big5hkscs"), "big5hkscs": ("cp950", "big5hkscs"),
             "shift_jis": ("cp932", "shift_jis"), "shift_jis_2004": ("cp932", "shift_jis_2004"),
             "euc_jis_2004": ("euc_jp", "euc_jis_2004"), "euc_kr": ("cp949",), "tis_620": ("cp874", "tis_620"),
             "latin_1": ("cp1252", "latin_1"), "iso8859_9": ("cp1254", "iso8859_9")}
# shown through title(): the names stay, the words in brackets are translated
TITLES = {
    "utf_8": "UTF-8", "utf_8_sig": N_("UTF-8 (with BOM)"), "utf_16": "UTF-16", "utf_16_le": N_("UTF-16 LE (no BOM)"),
    "utf_16_be": N_("UTF-16 BE (no BOM)"), "utf_32": "UTF-32", "gb18030": N_("GB18030 / GBK (Chinese, simplified)"),
    "big5hkscs": N_("Big5-HKSCS (Chinese, traditional, Hong Kong)"), "big5": N_("Big5 (Chinese, traditional)"),
    "cp950": N_("Big5 / cp950 (Chinese, traditional, Taiwan)"), "cp932": N_("Shift-JIS / cp932 (Japanese)"),
    "euc_jp": N_("EUC-JP (Japanese)"), "cp949": N_("EUC-KR / cp949 (Korean)"), "cp1251": N_("Windows-1251 (Cyrillic)"),
    "koi8_r": N_("KOI8-R (Russian)"), "cp1252": N_("Windows-1252 (Western European)"),
    "latin_1": N_("Latin-1 (ISO 8859-1)"), "cp1250": N_("Windows-1250 (Central European)"),
    "cp1253": N_("Windows-1253 (Greek)"), "cp1254": N_("Windows-1254 (Turkish)"), "cp1255": N_("Windows-1255 (Hebrew)"),
    "cp1256": N_("Windows-1256 (Arabic)"), "cp1257": N_("Windows-1257 (Baltic)"),
    "cp1258": N_("Windows-1258 (Vietnamese)"), "cp874": N_("Windows-874 (Thai)"), "mac_roman": "Mac Roman",
    "xlsx": N_("Excel workbook"),   # not an encoding: what text_tables records for a workbook
}
# what the Data page and --encoding offer (any Python codec name works too)
CHOICES = ("utf_8", "utf_8_sig", "utf_16", "gb18030", "cp950", "big5hkscs", "cp932", "euc_jp", "cp949", "cp1251", "koi8_r",
           "cp1252", "latin_1", "cp1250", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874")
UNCERTAIN = 0.9   # below this confidence the report says the guess may be wrong


@dataclass
class Decoded:
    text: str
    encoding: str              # Python codec name, as normalised by codecs.lookup
    confidence: float          # 1.0: chosen by the person, a byte-order mark, or no other reading; else how far
                               # the detector prefers it to the next reading, over the evidence (_confidence)
    chosen_by: str             # "detected" | "you"
    alternatives: list[str] = field(default_factory=list)   # other encodings that also decode the file
    language: str | None = None   # the detector's guess of the language, when it has one

    @property
    def title(self) -> str:
        """The encoding's name for a person, in the current language."""
        return title(self.encoding)

    def note(self) -> Text | None:
        """What a person should know about how the file was read (a lazy Text: kept in the report), or None."""
        if self.chosen_by == "you":
            return lazy("Read as {encoding}, as you chose.", encoding=title_text(self.encoding))
        if self.confidence < UNCERTAIN:
            others = [title_text(other) for other in self.alternatives[:3]]
            if others:
                return lazy("The encoding guess is uncertain: read as {encoding} ({confidence:.0%} confidence; it "
                            "could also be {others}). If the texts look garbled, choose the encoding the file was "
                            "saved in.", encoding=title_text(self.encoding), confidence=self.confidence,
                            others=listing(others))
            return lazy("The encoding guess is uncertain: read as {encoding} ({confidence:.0%} confidence). If the "
                        "texts look garbled, choose the encoding the file was saved in.",
                        encoding=title_text(self.encoding), confidence=self.confidence)
        return None


def normalise(name: str) -> str:
    """A codec name as Python spells it ('GBK' -> 'gbk', 'utf-8' -> 'utf_8'); UserError if unknown."""
    try:
        return codecs.lookup(name.strip()).name.replace("-", "_")
    except LookupError:
        raise UserError(lazy("Unknown text encoding '{name}'.", name=name),
                        lazy("Choose one of: {choices} (or any Python codec name).",
                             choices=", ".join(CHOICES))) from None


def english_title(encoding: str) -> str:
    """The encoding's name in English, as stored in a report's details and a run's events (``_()`` of it, or
    ``title``, gives it in the current language)."""
    return TITLES.get(encoding, encoding.replace("_", "-").upper())


def title(encoding: str) -> str:
    """The encoding's name for a person, in the current language: "GB18030 / GBK (Chinese, simplified)"."""
    return _(english_title(encoding))


def title_text(encoding: str) -> Text:
    """``title`` as a lazy Text, for a sentence that is kept and shown later."""
    return Text(english_title(encoding))


def listing(items: list) -> Text | str:
    """Up to three names (lazy Texts or plain) as one list, in the reader's language ("a, b, c": "a、b、c")."""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return lazy("{first}, {second}", first=items[0], second=items[1])
    return lazy("{first}, {second}, {third}", first=items[0], second=items[1], third=items[2])


def decode(raw: bytes, name: str, encoding: str | None = None) -> Decoded:
    """Decode a whole file: with ``encoding`` if given (strictly: a wrong choice is refused with
    where it fails), else as its byte-order mark says, as UTF-8 when it is valid UTF-8, else with the
    encoding the detector finds."""
    if encoding:
        return _decode_as(raw, name, normalise(encoding))
    for mark, marked in ((codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF32_LE, "utf_32"), (codecs.BOM_UTF32_BE, "utf_32"),
                         (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16")):
        if raw.startswith(mark) and _valid(raw, marked):
            decoded = _decode_as(raw, name, marked)
            decoded.chosen_by = "detected"
            return decoded
    # valid UTF-8 is UTF-8 for all practical purposes, unless it holds NUL bytes: UTF-16 without a
    # byte-order mark is valid UTF-8 too ("t\0e\0x\0t\0"), and no table of texts holds NULs
    if b"\x00" not in raw and _valid(raw, "utf_8"):
        return Decoded(raw.decode("utf-8"), "utf_8", 1.0, "detected")
    return _detected(raw, name)


SAMPLE = 1 << 20   # bytes the detector reads (the chosen encoding must still decode all of them)


def _detected(raw: bytes, name: str) -> Decoded:
    """chardet's most likely encoding that decodes the whole file: first among the encodings tables are
    saved in today (Windows code pages, CJK, KOI8, UTF-16/32), then among all it knows (ISO 8859, Mac,
    DOS...)."""
    import chardet
    from chardet.enums import EncodingEra

    for era in (EncodingEra.MODERN_WEB, EncodingEra.ALL):
        results = [result for result in chardet.detect_all(raw, encoding_era=era, max_bytes=SAMPLE)
                   if result["encoding"]]
        found = next(((encoding, index) for index, result in enumerate(results)
                      if (encoding := _decoding(raw, result["encoding"]))), None)
        if found:
            break
    else:
        raise UserError(lazy("{file} does not read as text in any encoding TransferLab knows (is it a table of "
                             "texts?).", file=name),
                        lazy("Save it from Excel as 'CSV UTF-8', or choose its encoding on the Data page "
                             "(`--encoding` on the command line)."))
    encoding, index = found
    best = results[index]
    text = raw.decode(encoding).removeprefix("\ufeff")
    # the readings that give other text (compared on the head the detector read: one full decode is enough)
    head = raw[:SAMPLE].decode(encoding, errors="replace").removeprefix("\ufeff")
    differing = [(other, result) for result in results[index + 1:]
                 if (other := _decoding(raw[:SAMPLE], result["encoding"], strict=False)) and other != encoding
                 and raw[:SAMPLE].decode(other, errors="replace").removeprefix("\ufeff") != head]
    confidence = _confidence(best["confidence"], differing[0][1]["confidence"] if differing else 0.0, text)
    chinese = _cjk_words_in_latin(raw, encoding)
    if chinese is not None:  # a few Chinese or Japanese names in English text: chardet's statistics miss them
        encoding, text, confidence = chinese, raw.decode(chinese), max(confidence, 0.9)
    alternatives = list(dict.fromkeys(other for other, _ in differing if other != encoding))
    return Decoded(text, encoding, round(min(confidence, 1.0), 4), "detected", alternatives[:4],
                   best.get("language") or None)


def _confidence(best: float, runner_up: float, text: str) -> float:
    """How sure the guess is, from the detector's scores for the best reading and the first that gives other
    text. Its scores are per-character averages (as sure of 200 rows as of 10), so the runner-up's ratio to the
    best is compounded over the evidence: every 10 non-ASCII characters, the characters readings disagree on.
    Windows-1252 against Windows-1250 for French scores 0.67: 10 rows are uncertain (45%), 40 rows not (91%)."""
    if runner_up <= 0 or best <= 0:
        return 1.0
    evidence = len(_NON_ASCII.findall(text, 0, SAMPLE))
    return max(0.0, 1.0 - min(runner_up / best, 1.0) ** (evidence / 10))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _decoding(raw: bytes, detected: str, strict: bool = True) -> str | None:
    """The codec to read ``raw`` with for the detector's ``detected`` (Excel's variant where it decodes the
    whole of ``raw``, else the named one), None when neither does; ``strict=False``: a head of the file, cut
    anywhere (a character split at the end does not count against a codec)."""
    try:
        name = codecs.lookup(detected).name.replace("-", "_")
    except LookupError:
        return None
    for encoding in PREFERRED.get(name, (name,)):
        if _valid(raw if strict else raw[:-4], encoding):
            return encoding
    return None


CJK_CODE_PAGES = ("gb18030", "cp950", "cp932", "euc_jp", "cp949")
CJK_EVIDENCE = 4          # CJK characters a reading needs before it can overrule the detector
CJK_COMMON_SHARE = 0.9    # of its non-ASCII characters that must be common CJK ones


def _cjk_words_in_latin(raw: bytes, chosen: str) -> str | None:
    """A CJK code page that reads ``raw`` as common Chinese, Japanese or Korean characters, where the detector
    chose a single-byte one: English text with a few names in GBK is taken for Windows-1252 (too few
    characters for its statistics), while a Latin, Cyrillic or Greek file almost never decodes strictly
    in a CJK code page, and when it does, mostly as rare characters."""
    if chosen in CJK_CODE_PAGES or chosen.startswith(("utf", "big5", "shift_jis", "euc", "gb", "iso2022", "hz",
                                                          "johab")):  # already a multi-byte (or Unicode) reading
        return None
    head = raw[:SAMPLE]
    for encoding in CJK_CODE_PAGES:
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        wide = [character for character in text if ord(character) > 0x7F]
        if len(wide) >= CJK_EVIDENCE and sum(map(_common_cjk, wide)) >= CJK_COMMON_SHARE * len(wide) \
                and _valid(raw, encoding):
            return encoding
    return None


def _common_cjk(character: str) -> bool:
    """One of the characters nearly all CJK text is made of: kana, CJK punctuation and full-width forms,
    and the common Han characters and Hangul syllables (common_cjk)."""
    code = ord(character)
    return (0x3000 <= code <= 0x30FF or 0xFF01 <= code <= 0xFF5E) or character in common_cjk()


@functools.lru_cache(maxsize=1)
def common_cjk() -> frozenset[str]:
    """Each standard's own selection of common characters: the 3,755 level-1 Hanzi of GB2312, the 5,401
    common characters of Big5, the 2,965 level-1 kanji of JIS X 0208, the 2,350 Hangul syllables of
    KS X 1001. Real text is nearly all made of them; a wrong reading of other bytes mostly is not."""
    def decoded(encoding: str, leads: range, trails: list[int]) -> set[str]:
        found = set()
        for lead in leads:
            for trail in trails:
                try:
                    found.add(bytes([lead, trail]).decode(encoding))
                except UnicodeDecodeError:
                    continue
        return found

    high = list(range(0xA1, 0xFF))
    return frozenset(decoded("gb2312", range(0xB0, 0xD8), high) | decoded("euc_jp", range(0xB0, 0xD0), high)
                     | decoded("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + high)
                     | decoded("euc_kr", range(0xB0, 0xC9), high))


def _valid(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _decode_as(raw: bytes, name: str, encoding: str) -> Decoded:
    data = raw
    if encoding in ("utf_8", "utf_8_sig") and raw.startswith(codecs.BOM_UTF8):
        data, encoding = raw[3:], "utf_8_sig"
    try:
        text = data.decode("utf_8" if encoding == "utf_8_sig" else encoding)
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UserError(lazy("{file} is not valid {encoding}: byte {byte} on line {line} does not decode.", file=name,
                             encoding=title_text(encoding), byte=data[error.start:error.start + 1].hex(), line=line),
                        lazy("Choose another encoding, or 'detect automatically'.")) from None
    return Decoded(text.removeprefix("\ufeff"), encoding, 1.0, "you")
