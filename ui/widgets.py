"""Small rendering helpers that several pages share."""

from __future__ import annotations

import functools
import math
import traceback
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from core import i18n
from core.errors import UserError
from core.i18n import _
from core.storage import disk_full_error, is_disk_full


def show_error(error: Exception) -> None:
    """A plain-words error box; never a traceback (the details fold away under it)."""
    if isinstance(error, UserError):
        st.error(f"**{error.message}**" + (f"\n\n{error.hint}" if error.hint else ""), icon=":material/error:")
        return
    if is_disk_full(error):
        show_error(disk_full_error(_("a file"), getattr(error, "filename", None) or ".", None))
        return
    detail = f"{type(error).__name__}: {str(error)[:300]}"
    st.error(_("**Something went wrong:** {error}", error=detail), icon=":material/error:")
    with st.expander(_("Details, for a bug report")):
        st.code("".join(traceback.format_exception(error)), language="text")


@contextmanager
def unexpected_errors() -> Iterator[None]:
    """Around a whole page (or a fragment): an unexpected error becomes a short explanation with the
    details folded away, and the rest of the app keeps working. Streamlit's own st.stop / st.rerun
    are BaseExceptions and pass through. Under AppTest the error is raised again, so tests see it."""
    try:
        yield
    except Exception as error:
        if isinstance(error, UserError) or is_disk_full(error):
            show_error(error)
        else:
            detail = f"{type(error).__name__}: {str(error)[:200]}"
            st.error(_("**This part of the page hit a problem it did not expect.** Nothing is lost: your data, "
                       "runs and settings are as they were. Try again, go to another page, or reload. ({error})",
                       error=detail), icon=":material/error:")
            with st.expander(_("Details, for a bug report")):
                st.code("".join(traceback.format_exception(error)), language="text")
        from streamlit import config

        if config.get_option("global.appTest"):
            raise


def guarded(function: Callable) -> Callable:
    """``unexpected_errors`` for a function (put it under ``@st.fragment``: fragments rerun alone)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with unexpected_errors():
            return function(*args, **kwargs)
    return wrapper


def file_uploader(label: str, types: list[str], key: str, **options):
    """``st.file_uploader`` whose own words ("Upload", "200MB per file • ZIP, CSV"), written by Streamlit in
    English, are said in the reader's language: drawn over Streamlit's text by a style scoped to this uploader."""
    upload = st.file_uploader(label, type=types, key=key, **options)
    if i18n.current() != "en":
        limit = i18n.number(st.get_option("server.maxUploadSize"))
        instructions = _("Up to {size} MB per file: {types}", size=limit, types=", ".join(t.upper() for t in types))
        button = _("Upload")
        scope = f".st-key-{key} [data-testid='stFileUploaderDropzone']"
        st.html(f"""<style>
{scope} [data-testid='stFileUploaderDropzoneInstructions'] span {{font-size: 0}}
{scope} [data-testid='stFileUploaderDropzoneInstructions'] span::after {{content: {_css_string(instructions)};
  font-size: 0.875rem}}
{scope} button p {{font-size: 0}}
{scope} button p::after {{content: {_css_string(button)}; font-size: 0.875rem}}
</style>""")
    return upload


def streamlit_hints_in_language() -> None:
    """Streamlit's own hints under a text field ("Press Enter to apply", "Press Ctrl+Enter to apply"), written
    in English by Streamlit, said in the reader's language: drawn over them by a style (once per page)."""
    if i18n.current() == "en":
        return
    hint = "[data-testid='InputInstructions'] > span:first-child"
    rules = []
    for widget, words in ((".stTextArea", _("Press Ctrl+Enter to apply")),
                          (".stTextInput", _("Press Enter to apply")), (".stNumberInput", _("Press Enter to apply"))):
        rules.append(f"{widget} {hint} {{font-size: 0}}\n"
                     f"{widget} {hint}::after {{content: {_css_string(words)}; font-size: 0.75rem}}")
    st.html("<style>\n" + "\n".join(rules) + "\n</style>")


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal."""
    return '"' + "".join(c if c.isalnum() or c in " .,:;()（）：，。、" else f"\\{ord(c):x} " for c in text) + '"'


def percent(value: float | None) -> str:
    """0.9234 -> "92.3%" (the current language's way); None -> "–"."""
    return i18n.percent(value)


def share(part: float, whole: float) -> str:
    """``part`` of ``whole`` as a percent that says something even when tiny: two significant digits below 10%
    ("0.0034%" for 770 of 22.7 million, where two decimals said "0.00%"), "less than 0.0001%" below that; the
    current language's way."""
    if whole <= 0 or part <= 0 or part >= whole:
        return i18n.percent(0.0 if whole <= 0 or part <= 0 else 1.0, 0)
    percent_value = 100 * part / whole
    if percent_value < 1e-4:
        return _("less than {share}", share=i18n.percent(1e-6, 4))
    if percent_value >= 99.95:
        return _("more than {share}", share=i18n.percent(0.999, 1))
    digits = min(4, max(1, 1 - math.floor(math.log10(percent_value))))
    return i18n.percent(part / whole, digits)


def millions(count: int) -> str:
    """A count of parameters, short: "4.2M" (Chinese: "420万"), or the whole number under 100,000."""
    if count < 1e5:
        return i18n.number(count)
    from babel.numbers import format_compact_decimal

    return format_compact_decimal(count, locale=i18n.current(), fraction_digits=1)


def highlighted_text(words: list[tuple[str, float]], separators: list[str] | None = None,
                     large: bool = False) -> str:
    """HTML: each word on a background whose strength is its share of the evidence; green for the
    class, red against it. ``separators``: the text before each word (none between Chinese
    characters); default a space."""
    import html

    strongest = max((abs(score) for _, score in words), default=0.0) or 1.0
    separators = separators if separators is not None else [""] + [" "] * (len(words) - 1)
    spans = []
    for (word, score), before in zip(words, separators):
        alpha = min(1.0, abs(score) / strongest) * 0.75
        colour = f"rgba(44, 160, 44, {alpha:.2f})" if score >= 0 else f"rgba(214, 39, 40, {alpha:.2f})"
        spans.append(html.escape(before) + f'<span style="background:{colour};padding:1px 1px;border-radius:3px" '
                     f'title="{score:+.1%}">{html.escape(word)}</span>')
    size = ";font-size:1.3rem" if large else ""  # ``large``: for a projector
    return f'<div style="line-height:2;white-space:pre-wrap{size}">' + "".join(spans) + "</div>"
