"""Translations: every sentence a person sees, in the app or the CLI, goes through here.

GNU gettext catalogues managed with Babel: ``core/locales/<lang>/LC_MESSAGES/transferlab.po``, compiled
to ``.mo`` on first use (so a fresh clone needs no extra step; ``scripts/catalog.py`` extracts, updates and
compiles them the ecosystem's way). English is the source language and needs no catalogue; a third language
is one new ``.po`` file (README, "Languages").

Three ways to mark a sentence, all with **named** placeholders so that a translation may reorder them:

- ``_("Accuracy {accuracy}", accuracy=...)``: translated now, in the current language. Pages, ``ui/``, and
  whatever core returns to be shown at once (readings, descriptions, the CLI's lines, the model card).
- ``ngettext("{n} image", "{n} images", n)``: the same with a count (``n`` is a placeholder too).
- ``lazy("...", ...)`` / ``lazy_ngettext(...)``: a :class:`Text`, translated only when shown. For what is
  made in one process or thread and read in another: ``UserError`` texts, the events a run writes (a
  notice written by the training process is read on the Results page in the reader's language).

The current language: ``language(...)`` (a context manager, e.g. the CLI's ``--lang``), else the provider the
app installs (the session's choice, ``ui/language.py``), else ``TRANSFERLAB_LANG``, else the POSIX variables
``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``, else English.
"""

from __future__ import annotations

import functools
import gettext
import io
import os
import re
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

DOMAIN = "transferlab"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"
SOURCE_LANGUAGE = "en"

_override: ContextVar[str | None] = ContextVar("transferlab_language", default=None)
_provider: Callable[[], str | None] | None = None


# ---------------------------------------------------------------- which languages, which one now

@functools.cache
def available() -> tuple[str, ...]:
    """Codes of the languages there is a catalogue for, English first (``("en", "zh_CN")``)."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *found)


def native_name(code: str) -> str:
    """The language's name in itself, for the switch: "English", "中文"."""
    from babel import Locale

    return Locale.parse(code).get_language_name(code).capitalize() if code != "zh_CN" else "中文"


def normalise(code: str | None) -> str | None:
    """The available language closest to ``code`` ("zh-CN", "zh_CN.UTF-8", "zh-Hans", "zh", "en-US",
    "de"...): the same language and region, else the same language; None when there is none."""
    if not code:
        return None
    code = code.split(".")[0].split("@")[0].replace("-", "_").strip()
    if code in ("C", "POSIX", ""):
        return SOURCE_LANGUAGE
    parts = code.split("_")
    language = parts[0].lower()
    exact = f"{language}_{parts[-1].upper()}" if len(parts) > 1 else language
    for candidate in available():
        if candidate.lower() == exact.lower():
            return candidate
    for candidate in available():
        if candidate.split("_")[0].lower() == language:
            return candidate
    return None


def from_environment() -> str:
    """``TRANSFERLAB_LANG``, else the first available of the POSIX locale variables, else English."""
    chosen = normalise(os.environ.get("TRANSFERLAB_LANG"))
    if chosen:
        return chosen
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if not value:
            continue
        for code in value.split(":"):  # LANGUAGE is a list, in order of preference
            chosen = normalise(code)
            if chosen:
                return chosen
        return SOURCE_LANGUAGE  # the variable that POSIX reads first names a language we lack
    return SOURCE_LANGUAGE


def set_provider(provider: Callable[[], str | None] | None) -> None:
    """Where the current language comes from when no ``language(...)`` block says (the app: the session's
    choice). A provider that fails or returns None leaves it to the environment."""
    global _provider
    _provider = provider


def current() -> str:
    chosen = _override.get()
    if chosen is None and _provider is not None:
        try:
            chosen = normalise(_provider())
        except Exception:  # outside a session (a server thread): the environment decides
            chosen = None
    return chosen or from_environment()


@contextmanager
def language(code: str | None) -> Iterator[str]:
    """Everything inside speaks ``code`` (normalised; unknown or None: as before)."""
    chosen = normalise(code) or current()
    token = _override.set(chosen)
    try:
        yield chosen
    finally:
        _override.reset(token)


# ---------------------------------------------------------------- the catalogues

def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(code: str) -> gettext.NullTranslations:
    if code == SOURCE_LANGUAGE or not po_path(code).exists():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compiled(code)))


def compiled(code: str) -> bytes:
    """The ``.mo`` of ``code``: the file beside the ``.po`` when it is newer, else compiled now with Babel
    and written there for next time (where the folder is writable; never required)."""
    po = po_path(code)
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime >= po.stat().st_mtime:
            return mo.read_bytes()
    except OSError:
        pass
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    data = buffer.getvalue()
    try:
        partial = mo.with_suffix(f".mo.{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(mo)
    except OSError:  # a read-only install: compiled again next time, in memory
        pass
    return data


def _format(text: str, fallback: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    params = {key: render(value) if isinstance(value, Text) else value for key, value in params.items()}
    try:
        filled = text.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that renamed a placeholder: English, not a crash
        return fallback.format(**params)
    if filled is text or not _CJK.search(filled) or not _unspaced_script():
        return filled  # spaced only in a Chinese or Japanese sentence (not data quoted in an English one)
    return _spaced(_COMPACT_THEN_SPACE.sub(r"\1", filled))


# A short Chinese count ("110.5万") placed where a number stands before its measure word ("{n} 个参数"): written
# together, "110.5万个参数", as a Chinese text writes it (the space belongs between digits and characters only)
_COMPACT_THEN_SPACE = re.compile(r"(\d[万亿]) (?=[\u4e00-\u9fff])")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_THEN_LATIN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])([A-Za-z0-9])")
_LATIN_THEN_CJK = re.compile(r"([A-Za-z0-9%])([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def _spaced(text: str) -> str:
    """A space between Chinese (or Japanese) characters and Latin letters or digits next to them, as Chinese
    typesetting does ("选用了 CORAL", "93.0% 和 87.5%"): a sentence filled with names and numbers reads as one
    the translator wrote. Only where a placeholder was filled; the catalogue's own sentences are spaced already."""
    return _LATIN_THEN_CJK.sub(r"\1 \2", _CJK_THEN_LATIN.sub(r"\1 \2", text))


# ---------------------------------------------------------------- marking sentences

def _(message: str, /, **params: Any) -> str:
    """``message`` in the current language, its ``{named}`` placeholders filled."""
    return _format(_translations(current()).gettext(message), message, params)


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The form of the sentence for ``n`` things (``{n}`` is filled too)."""
    params.setdefault("n", n)
    english = singular if n == 1 else plural
    return _format(_translations(current()).ngettext(singular, plural, n), english, params)


def N_(message: str, /) -> str:
    """Marks a sentence for the catalogue where it is defined (a table of terms); translate it with ``_`` where
    it is shown."""
    return message


class Shown:
    """A registry entry's words for people (a strategy's or adaptation method's title, explanation...): the class
    gives them in English, marked ``N_("...")`` for the catalogue; read, they speak the current language. Stored
    as ``_<name>`` (a subclass's plain ``title = ...`` is moved there by the registry's ``__init_subclass__``)."""

    def __init__(self, fallback: str | None = None) -> None:
        self.fallback = fallback  # the field read when this one is empty ("short": the title)

    def __set_name__(self, owner: type, name: str) -> None:
        self.field = "_" + name

    def __get__(self, instance: Any, owner: type | None = None) -> str:
        source = instance if instance is not None else owner
        english = getattr(source, self.field) or (getattr(source, "_" + self.fallback) if self.fallback else "")
        return _(english) if english else english

    def __set__(self, instance: Any, value: str) -> None:
        setattr(instance, self.field, value)


class Text:
    """A sentence translated when shown, not when made: ``str(text)`` speaks the current language.

    Its parameters may be Texts themselves. ``to_json`` / ``from_json`` carry it through a run's events."""

    __slots__ = ("message", "plural", "n", "params")

    def __init__(self, message: str, plural: str | None = None, n: int | None = None, /, **params: Any) -> None:
        self.message, self.plural, self.n, self.params = message, plural, n, params

    def __str__(self) -> str:
        if self.plural is not None:
            return ngettext(self.message, self.plural, self.n, **self.params)
        return _(self.message, **self.params)

    def __repr__(self) -> str:
        return f"Text({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.message)

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)

    def __contains__(self, part: str) -> bool:
        return part in str(self)

    def __len__(self) -> int:
        return len(str(self))

    def to_json(self) -> dict:
        params = {key: {"text": value.to_json()} if isinstance(value, Text) else value
                  for key, value in self.params.items()}
        return {"id": self.message, "plural": self.plural, "n": self.n, "params": params}

    @classmethod
    def from_json(cls, data: dict) -> "Text":
        params = {key: cls.from_json(value["text"]) if isinstance(value, dict) and "text" in value else value
                  for key, value in (data.get("params") or {}).items()
                  if key != "n" or data.get("plural") is None}  # a plural's {n} is its count, given apart
        return cls(data["id"], data.get("plural"), data.get("n"), **params)


def lazy(message: str, /, **params: Any) -> Text:
    """A sentence translated when shown (see :class:`Text`)."""
    return Text(message, **params)


def lazy_ngettext(singular: str, plural: str, n: int, /, **params: Any) -> Text:
    return Text(singular, plural, n, **params)  # ngettext fills {n} when shown


def join(*sentences: Any) -> str:
    """Sentences one after another: a space after Latin text, none after Chinese or Japanese punctuation."""
    joined = ""
    for sentence in sentences:
        text = render(sentence).strip()
        if not text:
            continue
        joined += ("" if not joined or ord(joined[-1]) >= 0x2E80 else " ") + text
    return joined


def render(value: Any) -> str:
    """A Text, a Text as JSON (``{"id": ...}``), or plain text, as text in the current language."""
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, dict) and "id" in value:
        return str(Text.from_json(value))
    if isinstance(value, (list, tuple)):  # sentences one after another (an error's message and hint)
        return join(*value)
    return "" if value is None else str(value)


def event_text(event: dict) -> str:
    """The sentence of a run's event (``notice``, ``error``, ``stage``...) in the current language; events
    written before translations, or by plugins, carry plain ``message`` text."""
    if isinstance(event.get("text"), (dict, list)):
        return render(event["text"])
    return render(event.get("message"))


def for_event(message: Any) -> dict:
    """The fields an event stores for ``message`` (a Text, plain text, or a list of them: sentences one after
    another): ``message`` (its text now, for plain JSON readers) and, where there is a Text, ``text`` (to
    translate when read)."""
    parts = message if isinstance(message, (list, tuple)) else [message]
    fields = {"message": join(*parts)}
    if any(isinstance(part, Text) for part in parts):
        stored = [part.to_json() if isinstance(part, Text) else render(part) for part in parts]
        fields["text"] = stored[0] if len(stored) == 1 else stored
    return fields


# ---------------------------------------------------------------- numbers and dates for the locale

def _locale():
    from babel import Locale

    return Locale.parse(current())


def _half_up(value: float, digits: int, scale: int = 0) -> "Decimal":
    """``value`` times 10**``scale`` rounded to ``digits`` decimals, halves away from zero, as people round
    (80.5 -> 81, 76.5 -> 77). Babel and Python's format round halves to even (80.5 -> 80) and Python rounds
    the float's binary value (0.145 * 100 is 14.4999...); scaling the decimal ``repr`` rounds what a person reads.
    Accuracies come from float32 tensors (153/200 arrives as 0.76499998...): the value is first snapped to four
    more decimals than shown, so that such a half is still a half."""
    from decimal import ROUND_HALF_UP, Decimal

    exact = Decimal(repr(float(value))).scaleb(scale)
    if not exact.is_finite():
        return exact
    snapped = exact.quantize(Decimal(1).scaleb(-digits - 4), rounding=ROUND_HALF_UP)
    return snapped.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def number(value: float, digits: int | None = None) -> str:
    """1234567 -> "1,234,567"; ``digits``: decimals shown (exactly), halves rounded up."""
    from babel.numbers import format_decimal

    if digits is None:
        return format_decimal(value, locale=_locale())
    return format_decimal(_half_up(value, digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0",
                          locale=_locale())


def percent(value: float | None, digits: int = 1) -> str:
    """0.9234 -> "92.3%", 0.805 -> "80.5%" (``digits`` 0: "81%", halves rounded up); None -> "–"."""
    if value is None:
        return "–"
    from babel.numbers import format_percent

    shown = _half_up(value, digits, scale=2).scaleb(-2)  # exact: Babel has nothing left to round
    return format_percent(shown, format=f"#,##0.{'0' * digits}%" if digits else "#,##0%", locale=_locale())


def points(value: float | None, other: float | None, digits: int = 1) -> str:
    """How many percentage points apart two shares (0..1) are, as their ``percent``s read: 0.915 and 0.865 ->
    "5.0", what a reader computes from "91.5%" and "86.5%" ("–" if either is None). Never negative: the sentence
    around it says which one is ahead."""
    if value is None or other is None:
        return "–"
    gap = abs(_half_up(value, digits, scale=2) - _half_up(other, digits, scale=2))
    return number(float(gap), digits)


def listing(items: list[str]) -> str:
    """Items as a list in a sentence, the current language's way ("a, b, and c"; "a、b和c")."""
    from babel.lists import format_list

    return format_list([str(item) for item in items], locale=_locale()) if items else ""


def series(items: list[str]) -> str:
    """Items one after another, without "and" (a title, a list of classes): "a, b, c"; in Chinese "a、b、c"."""
    return ("、" if _unspaced_script() else ", ").join(str(item) for item in items)


def _unspaced_script() -> bool:
    """The current language writes without spaces between words (Chinese, Japanese)."""
    return current().split("_")[0] in ("zh", "ja")


def date_time(timestamp: float, format: str = "short") -> str:
    """A moment as this locale writes it ("12/6/26, 4:27 AM", "2026/12/6 04:27")."""
    from datetime import datetime

    from babel.dates import format_datetime

    return format_datetime(datetime.fromtimestamp(timestamp), format=format, locale=_locale())
