"""The language this session speaks (core/i18n.py does the translating).

Chosen, in order: the sidebar switch or the address (``?lang=zh``), which the session then remembers;
``TRANSFERLAB_LANG`` (a server for a class); the browser's language (``st.context.locale``); English.
"""

from __future__ import annotations

import os

import streamlit as st

from core import i18n

KEY = "lang"          # session_state: the language code now ("en", "zh_CN")
CHOSEN = "lang_chosen"  # session_state: True once the person (or the address) chose it


def _session_language() -> str | None:
    """i18n's provider: the language of the session whose script is running on this thread."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:  # a server thread: the environment decides
        return None
    return st.session_state.get(KEY)


def default() -> str:
    """Before any choice: the server's, else the browser's, else English."""
    chosen = i18n.normalise(os.environ.get("TRANSFERLAB_LANG"))
    if chosen:
        return chosen
    try:
        browser = st.context.locale
    except Exception:  # an older Streamlit, or no browser (AppTest)
        browser = None
    return i18n.normalise(browser) or i18n.SOURCE_LANGUAGE


def address_code(code: str) -> str:
    """What ``?lang=`` says for ``code``: the language alone where that is unambiguous ("zh")."""
    language = code.split("_")[0]
    same = [other for other in i18n.available() if other.split("_")[0] == language]
    return language if len(same) == 1 else code


def choose() -> None:
    """Every script run, before anything is drawn: settle the session's language."""
    i18n.set_provider(_session_language)
    asked = i18n.normalise(st.query_params.get("lang"))
    if asked and (asked != st.session_state.get(KEY) or not st.session_state.get(CHOSEN)):
        st.session_state[KEY], st.session_state[CHOSEN] = asked, True
    elif KEY not in st.session_state:
        st.session_state[KEY] = default()
    if st.session_state.get(CHOSEN):
        remember_in_url()


def remember_in_url() -> None:
    wanted = address_code(st.session_state[KEY])
    if st.query_params.get("lang") != wanted:
        st.query_params["lang"] = wanted


def _switched() -> None:
    picked = st.session_state.get("lang_switch")
    if picked:
        st.session_state[KEY], st.session_state[CHOSEN] = picked, True
        remember_in_url()


def switch() -> None:
    """中文 / English, in the sidebar; the page redraws in the new language at once."""
    languages = list(i18n.available())
    if len(languages) < 2:
        return
    st.session_state["lang_switch"] = st.session_state[KEY]
    st.segmented_control("Language / 语言", languages,  # not-translated: read before a language is chosen
                         format_func=i18n.native_name, key="lang_switch", on_change=_switched,
                         label_visibility="collapsed")
