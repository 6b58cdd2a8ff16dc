"""Small rendering helpers that several pages share."""

from __future__ import annotations

import streamlit as st

from core.errors import UserError


def show_error(error: Exception) -> None:
    """A plain-words error box; never a traceback."""
    if isinstance(error, UserError):
        st.error(f"**{error.message}**" + (f"\n\n{error.hint}" if error.hint else ""), icon=":material/error:")
    else:
        st.error(f"**Something went wrong:** {type(error).__name__}: {error}", icon=":material/error:")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def millions(count: int) -> str:
    return f"{count / 1e6:.1f}M" if count >= 1e5 else f"{count:,}"


def highlighted_text(words: list[tuple[str, float]]) -> str:
    """HTML: each word on a background whose strength is its share of the evidence; green for the
    class, red against it."""
    import html

    strongest = max((abs(score) for _, score in words), default=0.0) or 1.0
    spans = []
    for word, score in words:
        alpha = min(1.0, abs(score) / strongest) * 0.75
        colour = f"rgba(44, 160, 44, {alpha:.2f})" if score >= 0 else f"rgba(214, 39, 40, {alpha:.2f})"
        spans.append(f'<span style="background:{colour};padding:1px 3px;border-radius:3px" '
                     f'title="{score:+.1%}">{html.escape(word)}</span>')
    return '<div style="line-height:2">' + " ".join(spans) + "</div>"
