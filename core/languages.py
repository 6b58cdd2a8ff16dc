"""Which language a column of texts is in (py3langid, a maintained detector of 97 languages), and
what follows from it: whether words are separated by spaces (TF-IDF counts characters where they
are not), and whether an encoder that was trained on English alone can read the texts.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import asdict, dataclass

SAMPLE = 400          # texts looked at (seeded sample): enough for the share, fast on 200k rows
CUT = 400             # characters of each text looked at
# Languages written without spaces between words: word counts would see whole sentences as one word.
UNSPACED = {"zh", "ja", "th", "lo", "km", "my", "bo", "dz", "wuu", "yue"}
NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bo": "Tibetan", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "dz": "Dzongkha", "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish",
    "gl": "Galician", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "ky": "Kyrgyz", "la": "Latin",
    "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian",
    "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese", "ne": "Nepali", "nl": "Dutch",
    "no": "Norwegian", "nn": "Norwegian (Nynorsk)", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian",
    "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "wuu": "Chinese (Wu)", "yue": "Cantonese", "zh": "Chinese", "zxx": "no language",
}


@dataclass
class LanguageReport:
    code: str                    # ISO 639 code of the most common language
    share: float                 # of the texts looked at that are in it
    others: dict[str, float]     # the next languages, with their shares
    looked_at: int

    @property
    def name(self) -> str:
        return language_name(self.code)

    @property
    def unspaced(self) -> bool:
        return self.code in UNSPACED

    def sentence(self) -> str:
        text = f"Language: {self.name} ({self.share:.0%} of {self.looked_at:,} texts looked at)"
        if self.others:
            text += "; also " + ", ".join(f"{language_name(c)} ({s:.0%})" for c, s in self.others.items())
        return text + "."

    def to_dict(self) -> dict:
        return {**asdict(self), "name": self.name, "unspaced": self.unspaced}


def language_name(code: str) -> str:
    return NAMES.get(code, code)


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(texts: list[str], seed: int = 0) -> LanguageReport | None:
    """The language of most of ``texts`` (a seeded sample of them), or None when there is no text."""
    pool = [t for t in texts if t and t.strip()]
    if not pool:
        return None
    sample = pool if len(pool) <= SAMPLE else random.Random(seed).sample(pool, SAMPLE)
    identifier = _identifier()
    votes = Counter(identifier.classify(text[:CUT])[0] for text in sample)
    (code, count), *rest = votes.most_common(4)
    return LanguageReport(code, count / len(sample), {c: n / len(sample) for c, n in rest if n / len(sample) >= 0.05},
                          len(sample))


def detect_remembered(texts: list[str], key: str, seed: int = 0) -> LanguageReport | None:
    """``detect``, remembered in the cache folder under ``key`` (the data's fingerprint): loading the
    detector's model takes 1.5 s, and every training process reads the data again."""
    import json

    from core import paths, storage

    path = paths.cache_dir() / "languages" / f"{key}-{seed}.json"
    try:
        return from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = detect(texts, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.write_atomically(path, json.dumps(found.to_dict() if found else None), "the language cache")
    except Exception:  # a cache: not being able to keep it costs 1.5 s next time, nothing more
        pass
    return found


def from_dict(values: dict | None) -> LanguageReport | None:
    if not values:
        return None
    return LanguageReport(values["code"], values["share"], values.get("others", {}), values.get("looked_at", 0))


def reads(languages: tuple[str, ...] | None, language: LanguageReport | None) -> bool | None:
    """Can an encoder trained on ``languages`` ("multilingual" for many) read texts in ``language``?
    None when either is unknown."""
    if languages is None or language is None:
        return None
    return "multilingual" in languages or language.code in languages


def encoder_warning(title: str, languages: tuple[str, ...] | None, language: LanguageReport | None) -> str | None:
    """A plain-words warning when most texts are in a language the encoder was not trained on."""
    if reads(languages, language) is not False or language.share < 0.5 or language.code == "zxx":
        return None
    trained = " and ".join(language_name(code) for code in languages)
    return (f"Most of these texts are in {language.name} ({language.share:.0%}), but {title} was trained on "
            f"{trained} text only: it will read them poorly. Pick an encoder that reads {language.name}: "
            "Multilingual BERT or multilingual MiniLM (from the Hugging Face cache or a download), or any "
            "Hugging Face id of a model trained on it (e.g. hf:bert-base-chinese for Chinese); or the TF-IDF "
            "baseline, which needs no pretraining"
            + (" and counts characters for languages written without spaces." if language.unspaced else "."))
