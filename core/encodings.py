"""Which encoding a table of texts was saved in: detected by charset-normalizer over the whole
file, or chosen by the person. Never a silent fallback: a file that fits no encoding is refused
with what to do, and an uncertain guess says so.

Excel saves CSVs in the computer's legacy code page: GB18030/GBK in mainland China, Big5 in
Taiwan and Hong Kong, Shift-JIS (cp932) in Japan, EUC-KR (cp949) in Korea, Windows-1251 for
Cyrillic, Windows-1252 in Western Europe; "CSV UTF-8" and UTF-16 ("Unicode text") otherwise.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from core.errors import UserError

# Decoding with the superset decodes every file of the subset identically, and more besides
# (GBK-only characters in a file the detector called GB2312, say).
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949", "ascii": "utf_8",
             "big5": "big5hkscs"}
TITLES = {
    "utf_8": "UTF-8", "utf_8_sig": "UTF-8 (with BOM)", "utf_16": "UTF-16", "utf_16_le": "UTF-16 LE (no BOM)",
    "utf_16_be": "UTF-16 BE (no BOM)", "utf_32": "UTF-32", "gb18030": "GB18030 / GBK (Chinese, simplified)",
    "big5hkscs": "Big5 (Chinese, traditional)", "big5": "Big5 (Chinese, traditional)",
    "cp950": "Big5 / cp950 (Chinese, traditional)", "cp932": "Shift-JIS / cp932 (Japanese)",
    "euc_jp": "EUC-JP (Japanese)", "cp949": "EUC-KR / cp949 (Korean)", "cp1251": "Windows-1251 (Cyrillic)",
    "koi8_r": "KOI8-R (Russian)", "cp1252": "Windows-1252 (Western European)", "latin_1": "Latin-1 (ISO 8859-1)",
    "cp1250": "Windows-1250 (Central European)", "cp1253": "Windows-1253 (Greek)", "cp1254": "Windows-1254 (Turkish)",
    "cp1255": "Windows-1255 (Hebrew)", "cp1256": "Windows-1256 (Arabic)", "cp1257": "Windows-1257 (Baltic)",
    "cp1258": "Windows-1258 (Vietnamese)", "cp874": "Windows-874 (Thai)", "mac_roman": "Mac Roman",
}
# what the Data page and --encoding offer (any Python codec name works too)
CHOICES = ("utf_8", "utf_8_sig", "utf_16", "gb18030", "big5hkscs", "cp932", "euc_jp", "cp949", "cp1251", "koi8_r",
           "cp1252", "latin_1", "cp1250", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874")
UNCERTAIN = 0.9   # below this confidence the report says the guess may be wrong


@dataclass
class Decoded:
    text: str
    encoding: str              # Python codec name, as normalised by codecs.lookup
    confidence: float          # 1.0: chosen by the person, or a byte-order mark; else 1 - charset-normalizer's chaos
    chosen_by: str             # "detected" | "you"
    alternatives: list[str] = field(default_factory=list)   # other encodings that also decode the file
    language: str | None = None   # charset-normalizer's guess of the language, when it has one

    @property
    def title(self) -> str:
        return title(self.encoding)

    def note(self) -> str | None:
        if self.chosen_by == "you":
            return f"Read as {self.title}, as you chose."
        if self.confidence < UNCERTAIN:
            others = ", ".join(title(a) for a in self.alternatives[:3])
            return (f"The encoding guess is uncertain: read as {self.title} ({self.confidence:.0%} confidence"
                    + (f"; it could also be {others}" if others else "") + "). If the texts look garbled, choose "
                    "the encoding the file was saved in.")
        return None


def normalise(name: str) -> str:
    """A codec name as Python spells it ('GBK' -> 'gbk', 'utf-8' -> 'utf_8'); UserError if unknown."""
    try:
        return codecs.lookup(name.strip()).name.replace("-", "_")
    except LookupError:
        raise UserError(f"Unknown text encoding {name!r}.",
                        f"Choose one of: {', '.join(CHOICES)} (or any Python codec name).") from None


def title(encoding: str) -> str:
    return TITLES.get(encoding, encoding.replace("_", "-").upper())


def decode(raw: bytes, name: str, encoding: str | None = None) -> Decoded:
    """Decode a whole file: with ``encoding`` if given (strictly: a wrong choice is refused with
    where it fails), else with the encoding charset-normalizer finds."""
    if encoding:
        return _decode_as(raw, name, normalise(encoding))
    if raw.startswith(codecs.BOM_UTF8):
        decoded = _decode_as(raw, name, "utf_8_sig")
        decoded.chosen_by = "detected"
        return decoded
    # valid UTF-8 is UTF-8 for all practical purposes, unless it holds NUL bytes: UTF-16 without a
    # byte-order mark is valid UTF-8 too ("t\0e\0x\0t\0"), and no table of texts holds NULs
    if b"\x00" not in raw and _valid(raw, "utf_8"):
        return Decoded(raw.decode("utf-8"), "utf_8", 1.0, "detected")
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    best = _most_likely(matches)
    if best is None:
        raise UserError(f"{name} does not read as text in any encoding TransferLab knows (is it a table of texts?).",
                        "Save it from Excel as 'CSV UTF-8', or choose its encoding on the Data page "
                        "(`--encoding` on the command line).")
    encoding = SUPERSETS.get(best.encoding, best.encoding)
    text = raw.decode(encoding) if _valid(raw, encoding) else str(best)
    if text.startswith("\ufeff"):
        text = text[1:]
    confidence = 1.0 if best.bom else max(0.0, 1.0 - best.chaos)
    alternatives = [SUPERSETS.get(m.encoding, m.encoding) for m in sorted(matches, key=lambda m: m.chaos)
                    if m is not best]
    alternatives = [a for i, a in enumerate(alternatives) if a != encoding and a not in alternatives[:i]]
    return Decoded(text, encoding, confidence, "detected", alternatives, best.language or None)


# How common each encoding is for tables people save (Excel's code pages by locale, then the rest).
# Single-byte encodings decode almost anything: French in Windows-1252 also reads "cleanly" as
# ISO 8859-10 with ç turned into į. Among the encodings that read the file about as cleanly as the
# cleanest, the most common one wins.
COMMON = ("utf_8", "utf_16", "utf_16_le", "utf_16_be", "cp1252", "gb18030", "gbk", "gb2312", "cp1251", "cp932",
          "shift_jis", "big5", "big5hkscs", "cp950", "cp949", "euc_kr", "cp1250", "cp1253", "cp1254", "cp1256",
          "cp1255", "cp1257", "cp1258", "cp874", "euc_jp", "koi8_r", "latin_1", "iso8859_15", "mac_roman")
TIE = 0.05   # chaos (share of odd characters) within this of the cleanest counts as as clean


def _most_likely(matches: list):
    if not matches:
        return None
    cleanest = min(match.chaos for match in matches)
    tied = [match for match in matches if match.chaos <= cleanest + TIE]
    rank = {name: index for index, name in enumerate(COMMON)}
    return min(tied, key=lambda match: (rank.get(match.encoding, len(rank)), match.chaos))


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
        raise UserError(f"{name} is not valid {title(encoding)}: byte {data[error.start:error.start + 1].hex()} "
                        f"on line {line} does not decode.",
                        "Choose another encoding, or 'detect automatically'.") from None
    return Decoded(text.removeprefix("\ufeff"), encoding, 1.0, "you")
