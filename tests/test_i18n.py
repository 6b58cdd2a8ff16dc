"""The interface in two languages: the catalogue is complete, nothing shown escapes it, the language is chosen
as the issue says (address, server, browser; LANG for the CLI), and lazy texts speak the reader's language."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import i18n
from core.errors import UserError
from core.i18n import Text, _, lazy, lazy_ngettext, ngettext
from tests import i18n_lint

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{(\w*)(?:[:!][^{}]*)?\}")


def _catalog_module():
    spec = importlib.util.spec_from_file_location("catalog", ROOT / "scripts" / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _translations(code: str) -> dict:
    from babel.messages.pofile import read_po

    with i18n.po_path(code).open("rb") as source:
        return {message.id: message for message in read_po(source, locale=code) if message.id}


def test_nothing_shown_is_left_unmarked():
    problems = i18n_lint.all_problems()
    assert not problems, "sentences shown without the catalogue:\n" + "\n".join(problems)


def test_the_lint_finds_what_it_is_for(tmp_path, monkeypatch):
    page = tmp_path / "pages" / "page.py"
    page.parent.mkdir()
    page.write_text('import streamlit as st\nst.button("Start training")\nst.caption(f"{n} runs left")\n'
                    'st.caption(_("Fine"))\nst.page_link("pages/x.py", label=_("Go"))\n'
                    'st.markdown("TransferLab")  # not-translated: the name\n')
    core = tmp_path / "core" / "thing.py"
    core.parent.mkdir()
    core.write_text('raise UserError(f"No such file {path}.", lazy("Check it."))\nemit("notice", message="Slow.")\n')
    monkeypatch.setattr(i18n_lint, "ROOT", tmp_path)
    found = i18n_lint.all_problems([page, core])
    assert [line.split(":")[1] for line in found] == ["2", "3", "1", "2"]


@pytest.mark.parametrize("code", [code for code in i18n.available() if code != "en"])
def test_the_catalogue_is_complete_and_keeps_every_placeholder(code):
    extracted = _catalog_module().extract_catalog()
    translated = _translations(code)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        found = translated.get(message.id)
        singular = message.id if isinstance(message.id, str) else message.id[0]
        where = f"{message.locations[0][0]}:{message.locations[0][1]}" if message.locations else "?"
        if found is None:
            problems.append(f"missing {where}: {singular[:70]!r}")
            continue
        strings = [found.string] if isinstance(found.string, str) else list(found.string)
        if found.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy {where}: {singular[:70]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(singular))
        if isinstance(message.id, tuple):
            wanted |= set(PLACEHOLDER.findall(message.id[1]))
        for string in strings:
            got = set(PLACEHOLDER.findall(string))
            if got - wanted or wanted - got - ({"n"} if isinstance(message.id, tuple) else set()):
                problems.append(f"placeholders {where}: {singular[:50]!r} has {sorted(wanted)}, "
                                f"the translation {sorted(got)}")
    assert not problems, f"{len(problems)} problems in {code}:\n" + "\n".join(problems[:60])


def test_compiled_catalogues_need_no_step_and_stay_out_of_git(tmp_path, monkeypatch):
    """A fresh clone has .po files only: the first translation compiles the .mo beside it (or in memory)."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "core/locales/zh_CN/LC_MESSAGES/transferlab.mo"],
                             cwd=ROOT).returncode
    assert ignored == 0
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "transferlab.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Start"\nmsgstr "开始"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.available.cache_clear()
    i18n._translations.cache_clear()
    try:
        with i18n.language("zh_CN"):
            assert _("Start") == "开始"
        assert po.with_suffix(".mo").exists()
    finally:
        i18n.available.cache_clear()
        i18n._translations.cache_clear()


@pytest.mark.parametrize("code, expected", [
    ("zh-CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("zh", "zh_CN"), ("zh-Hans-CN", "zh_CN"), ("zh-TW", "zh_CN"),
    ("en-US", "en"), ("en_GB.UTF-8", "en"), ("C", "en"), ("C.UTF-8", "en"), ("de-DE", None), (None, None)])
def test_a_language_code_is_matched_to_a_catalogue(code, expected):
    assert i18n.normalise(code) == expected


def test_the_environment_chooses_the_language(monkeypatch):
    for variable in ("TRANSFERLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.from_environment() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.from_environment() == "zh_CN"
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")  # read before LANG
    assert i18n.from_environment() == "en"
    monkeypatch.setenv("LANGUAGE", "de:zh_CN")  # a list: the first one there is a catalogue for
    assert i18n.from_environment() == "zh_CN"
    monkeypatch.setenv("TRANSFERLAB_LANG", "en")  # the server's own setting wins
    assert i18n.from_environment() == "en"


def test_a_lazy_text_speaks_the_language_of_whoever_reads_it():
    with i18n.language("en"):
        english = _("Start")
        error = UserError(lazy("Start"), lazy("Runs"))
        event = {"kind": "notice", **i18n.for_event(lazy("{what} ({count})", what=lazy("Runs"), count=3))}
    assert english == "Start"
    with i18n.language("zh_CN"):
        chinese_start, chinese_runs = _("Start"), _("Runs")
        assert chinese_start != "Start" and re.search(r"[\u4e00-\u9fff]", chinese_start)
        assert error.message == chinese_start and error.hint == chinese_runs
        assert i18n.event_text(event) == f"{chinese_runs} (3)"  # the nested Text too
        assert str(UserError(lazy("Start"))) == chinese_start
    assert event["message"] == "Runs (3)"  # for readers of the plain JSON
    assert i18n.event_text({"kind": "notice", "message": "written by an old run"}) == "written by an old run"
    assert Text.from_json(Text("a {b}", b=Text("c")).to_json()).params["b"].message == "c"
    # a sentence's own {n} survives the trip (a remembered "the target has {n} examples" once lost it and raised)
    assert str(Text.from_json(lazy("{n} examples, at least {least}", n=7, least=20).to_json())) == \
        "7 examples, at least 20"
    assert str(Text.from_json(i18n.lazy_ngettext("{n} run", "{n} runs", 3).to_json())) == "3 runs"


def test_plurals_and_named_placeholders():
    with i18n.language("en"):
        assert ngettext("{n} class", "{n} classes", 1) == "1 class"
        assert ngettext("{n:,} image", "{n:,} images", 1200) == "1,200 images"
        assert str(lazy_ngettext("{n} class", "{n} classes", 2)) == "2 classes"
    with i18n.language("zh_CN"):
        assert "1,200" in ngettext("{n:,} image", "{n:,} images", 1200)


def test_a_translation_that_renames_a_placeholder_falls_back_to_english(monkeypatch):
    class Broken:
        def gettext(self, message):
            return "准确率 {accuracy_renamed}"

    monkeypatch.setattr(i18n, "_translations", lambda code: Broken())
    assert _("Accuracy {accuracy}", accuracy="90%") == "Accuracy 90%"


def test_numbers_and_percents_for_the_locale():
    with i18n.language("en"):
        assert i18n.percent(0.9234) == "92.3%" and i18n.percent(None) == "–"
        assert i18n.number(1234567) == "1,234,567" and i18n.number(0.5, 2) == "0.50"
    with i18n.language("zh_CN"):
        assert i18n.percent(0.9234) == "92.3%" and i18n.number(1234567) == "1,234,567"
        assert "2026" in i18n.date_time(1796529600)


def test_every_term_is_explained_in_both_languages():
    from core import terms

    for key in terms.TERMS:
        with i18n.language("en"):
            english = terms.explain(key)
        with i18n.language("zh_CN"):
            chinese = terms.explain(key)
        assert english and re.search(r"[\u4e00-\u9fff]", chinese), key


def test_the_cli_speaks_chinese_with_a_chinese_lang_and_english_when_asked(tmp_path):
    env = {key: value for key, value in __import__("os").environ.items()
           if key not in ("TRANSFERLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    missing = str(tmp_path / "nowhere")
    chinese = subprocess.run([sys.executable, "-m", "core", "doctor", "--data", missing], cwd=ROOT,
                             env={**env, "LANG": "zh_CN.UTF-8"}, capture_output=True, text=True, timeout=120)
    assert chinese.returncode != 0 and re.search(r"[\u4e00-\u9fff]", chinese.stderr), chinese.stderr
    english = subprocess.run([sys.executable, "-m", "core", "--lang", "en", "doctor", "--data", missing], cwd=ROOT,
                             env={**env, "LANG": "zh_CN.UTF-8"}, capture_output=True, text=True, timeout=120)
    assert english.returncode != 0 and not re.search(r"[\u4e00-\u9fff]", english.stderr), english.stderr


@pytest.mark.parametrize("code", [code for code in i18n.available() if code != "en"])
def test_bold_and_code_still_render_in_every_translation(code):
    """CommonMark ignores a closing ** after full-width punctuation followed by a letter ("**数据：**colors"
    shows its asterisks): every emphasis of a translation must render, as the page's Markdown does."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark")
    broken = []
    for message in _translations(code).values():
        for string in [message.string] if isinstance(message.string, str) else list(message.string):
            filled = PLACEHOLDER.sub("x", string)
            if "**" in filled and "**" in markdown.render(filled):
                broken.append(string)
    assert not broken, "asterisks left showing:\n" + "\n".join(broken)


def test_a_filled_chinese_sentence_spaces_latin_and_digits_from_characters_and_an_english_one_is_left_alone():
    from core.i18n import _spaced

    assert _spaced("经测量选用了CORAL，准确率93.0%和87.5%") == "经测量选用了 CORAL，准确率 93.0% 和 87.5%"
    assert _spaced("**特征提取**和`efficientnet_lite0`") == "**特征提取**和`efficientnet_lite0`"  # marks between
    with i18n.language("zh_CN"):
        assert _("{params} parameters trained", params="110.5万") == "训练了 110.5 万个参数"
    with i18n.language("en"):
        assert _("{first} and {second}", first="我爱Python", second="x") == "我爱Python and x"  # data as it is
