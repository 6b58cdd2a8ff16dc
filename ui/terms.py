"""The glossary on the page: a small "What is this?" beside the first use of technical terms
(the explanations live in core/terms.py, one per term, so a term reads the same everywhere)."""

from __future__ import annotations

import streamlit as st

from core import terms
from core.i18n import _


def what_is(*keys: str, label: str | None = None) -> None:
    """A popover listing each term with its plain-words explanation."""
    with st.popover(label or _("What is this?"), icon=":material/help:"):
        for key in keys:
            st.markdown(terms.describe(key))


def help_for(*keys: str) -> str:
    """A tooltip's text (``help=``) explaining one or more terms."""
    return "\n\n".join(terms.describe(key) for key in keys)
