"""The command line's parser: argparse speaking the person's language (its own words through the catalogue,
help texts wrapped for Chinese), ``--lang`` read before the parser exists, and a refusal in one line."""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from contextlib import contextmanager
from typing import Iterator

from core import i18n
from core.i18n import N_, _

# argparse's own words (Python 3.11's), through the catalogue while the CLI parses its arguments
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"), N_("expected at least one argument"), N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


@contextmanager
def argparse_in_language() -> Iterator[None]:
    """argparse's headings and refusals ("usage:", "the following arguments are required") in the current
    language while the arguments are parsed (argparse reads them through its module's ``_``)."""
    saved = argparse._
    argparse._ = lambda message: _(message)
    try:
        yield
    finally:
        argparse._ = saved


def language_asked(argv: list[str]) -> str | None:
    """The ``--lang`` given anywhere among the options (the last one), before the parser exists: its help texts
    are already in that language."""
    asked = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and index + 1 < len(argv):
            asked = argv[index + 1]
        elif word.startswith("--lang="):
            asked = word.split("=", 1)[1]
    return asked


def language_code(code: str) -> str:
    """``--lang``'s type: the catalogue's code for ``code``, or a refusal naming the languages there are."""
    chosen = i18n.normalise(code)
    if chosen is None:
        raise argparse.ArgumentTypeError(_("there are no messages in {code!r}; choose among: {codes}", code=code,
                                           codes=", ".join(i18n.available())))
    return chosen


class Formatter(argparse.HelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = super()._get_help_string(action)  # a plain sentence: a "%" in it is a percent sign
        return help_text.replace("%", "%%") if help_text else help_text

    def _split_lines(self, text: str, width: int) -> list[str]:
        """Wrapped to the terminal's width: Chinese has no spaces to break at, and each of its characters
        takes two columns."""
        if not any(_wide(character) for character in text):
            return super()._split_lines(text, width)
        return _wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


def _wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def _wrap_wide(text: str, width: int) -> list[str]:
    """Lines of about ``width`` columns, broken between Chinese characters or at spaces (never inside a Latin
    word, before closing punctuation or after an opening bracket)."""
    pieces = re.findall(r"[^\s\u1100-\uffff]+|\s+|.", text)
    lines, line, used = [], "", 0
    for piece in pieces:
        size = sum(2 if _wide(character) else 1 for character in piece)
        closing = piece in "，。；：、）！？”’」』"
        if line and used + size > width and not piece.isspace() and not closing:
            carried = line[-1] if line[-1] in "（“‘「『" else ""  # an opening bracket goes with what it opens
            lines.append(line[:len(line) - len(carried)].rstrip())
            line, used = carried, 2 if carried else 0
        if line or not piece.isspace():
            line, used = line + piece, used + size
    return lines + [line.rstrip()] if line else lines


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, like every other refusal here
        print(_("error: {message} (see `{command} --help`)", message=message, command=self.prog), file=sys.stderr)
        raise SystemExit(2)
