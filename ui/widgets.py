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
