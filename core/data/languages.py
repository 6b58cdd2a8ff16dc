"""Which language a column of texts is in (py3langid, a maintained detector of 97 languages), and
what follows from it: whether words are separated by spaces (TF-IDF counts characters where they
are not), and whether an encoder that was trained on English alone can read the texts.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import asdict, dataclass

from core.i18n import N_, Text, _, lazy, ngettext

SAMPLE = 400          # texts looked at (seeded sample): enough for the share, fast on 200k rows
CUT = 400             # characters of each text looked at
# Languages written without spaces between words: word counts would see whole sentences as one word.
UNSPACED = {"zh", "ja", "th", "lo", "km", "my", "bo", "dz", "wuu", "yue"}
# language names as a person reads them (shown through language_name, in the current language)
NAMES = {
    "af": N_("Afrikaans"), "am": N_("Amharic"), "ar": N_("Arabic"), "az": N_("Azerbaijani"), "be": N_("Belarusian"),
    "bg": N_("Bulgarian"), "bn": N_("Bengali"), "bo": N_("Tibetan"), "bs": N_("Bosnian"), "ca": N_("Catalan"),
    "cs": N_("Czech"), "cy": N_("Welsh"), "da": N_("Danish"), "de": N_("German"), "dz": N_("Dzongkha"),
    "el": N_("Greek"), "en": N_("English"), "eo": N_("Esperanto"), "es": N_("Spanish"), "et": N_("Estonian"),
    "eu": N_("Basque"), "fa": N_("Persian"), "fi": N_("Finnish"), "fr": N_("French"), "ga": N_("Irish"),
    "gl": N_("Galician"), "gu": N_("Gujarati"), "he": N_("Hebrew"), "hi": N_("Hindi"), "hr": N_("Croatian"),
    "hu": N_("Hungarian"), "hy": N_("Armenian"), "id": N_("Indonesian"), "is": N_("Icelandic"), "it": N_("Italian"),
    "ja": N_("Japanese"), "ka": N_("Georgian"), "kk": N_("Kazakh"), "km": N_("Khmer"), "kn": N_("Kannada"),
    "ko": N_("Korean"), "ky": N_("Kyrgyz"), "la": N_("Latin"), "lo": N_("Lao"), "lt": N_("Lithuanian"),
    "lv": N_("Latvian"), "mk": N_("Macedonian"), "ml": N_("Malayalam"), "mn": N_("Mongolian"), "mr": N_("Marathi"),
    "ms": N_("Malay"), "mt": N_("Maltese"), "my": N_("Burmese"), "ne": N_("Nepali"), "nl": N_("Dutch"),
    "no": N_("Norwegian"), "nn": N_("Norwegian (Nynorsk)"), "pa": N_("Punjabi"), "pl": N_("Polish"),
    "ps": N_("Pashto"), "pt": N_("Portuguese"), "ro": N_("Romanian"), "ru": N_("Russian"), "si": N_("Sinhala"),
    "sk": N_("Slovak"), "sl": N_("Slovenian"), "sq": N_("Albanian"), "sr": N_("Serbian"), "sv": N_("Swedish"),
    "sw": N_("Swahili"), "ta": N_("Tamil"), "te": N_("Telugu"), "th": N_("Thai"), "tl": N_("Tagalog"),
    "tr": N_("Turkish"), "uk": N_("Ukrainian"), "ur": N_("Urdu"), "uz": N_("Uzbek"), "vi": N_("Vietnamese"),
    "wuu": N_("Chinese (Wu)"), "yue": N_("Cantonese"), "zh": N_("Chinese"), "zxx": N_("no language"),
}


@dataclass
class LanguageReport:
    code: str                    # ISO 639 code of the most common language
    share: float                 # of the texts looked at that are in it
    others: dict[str, float]     # the next languages, with their shares
    looked_at: int

    @property
    def name(self) -> str:
        """The language's name in the current language."""
        return language_name(self.code)

    @property
    def unspaced(self) -> bool:
        return self.code in UNSPACED

    def sentence(self) -> str:
        """What was found, in one sentence in the current language."""
        if self.others:
            from core.data.encodings import listing

            others = str(listing([_("{language} ({share:.0%})", language=language_name(code), share=share)
                                  for code, share in self.others.items()]))
            return ngettext("Language: {language} ({share:.0%} of {n:,} text looked at); also {others}.",
                            "Language: {language} ({share:.0%} of {n:,} texts looked at); also {others}.",
                            self.looked_at, language=self.name, share=self.share, others=others)
        return ngettext("Language: {language} ({share:.0%} of {n:,} text looked at).",
                        "Language: {language} ({share:.0%} of {n:,} texts looked at).",
                        self.looked_at, language=self.name, share=self.share)

    def to_dict(self) -> dict:
        """For a report's details and the cache: the name in English (``language_name(code)`` translates)."""
        return {**asdict(self), "name": NAMES.get(self.code, self.code), "unspaced": self.unspaced}


def language_name(code: str) -> str:
    """The language's name in the current language ("Chinese": "中文")."""
    return _(NAMES[code]) if code in NAMES else code


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
        storage.write_atomically(path, json.dumps(found.to_dict() if found else None),
                                 lazy("the language cache"))
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


def encoder_warning(title: str | Text, languages: tuple[str, ...] | None,
                    language: LanguageReport | None) -> Text | None:
    """A plain-words warning when most texts are in a language the encoder was not trained on: a lazy Text
    (shown on the Model page now, and kept in a run's events by training)."""
    if reads(languages, language) is not False or language.share < 0.5 or language.code == "zxx":
        return None
    from core.data.encodings import listing

    trained = listing([name_text(code) for code in languages[:3]])
    encoder = title if isinstance(title, Text) else Text(title)
    if language.unspaced:
        return lazy("Most of these texts are in {language} ({share:.0%}), but {encoder} was trained on {trained} "
                    "text only: it will read them poorly. Pick an encoder that reads {language}: Multilingual BERT "
                    "or multilingual MiniLM (from the Hugging Face cache or a download), or any Hugging Face id of "
                    "a model trained on it (e.g. hf:bert-base-chinese for Chinese); or the TF-IDF baseline, which "
                    "needs no pretraining and counts characters for languages written without spaces.",
                    language=name_text(language.code), share=language.share, encoder=encoder, trained=trained)
    return lazy("Most of these texts are in {language} ({share:.0%}), but {encoder} was trained on {trained} text "
                "only: it will read them poorly. Pick an encoder that reads {language}: Multilingual BERT or "
                "multilingual MiniLM (from the Hugging Face cache or a download), or any Hugging Face id of a model "
                "trained on it (e.g. hf:bert-base-chinese for Chinese); or the TF-IDF baseline, which needs no "
                "pretraining.", language=name_text(language.code), share=language.share, encoder=encoder,
                trained=trained)


def name_text(code: str) -> Text | str:
    """``language_name`` as a lazy Text, for a sentence that is kept and shown later."""
    return Text(NAMES[code]) if code in NAMES else code
