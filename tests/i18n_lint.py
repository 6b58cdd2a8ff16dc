"""Finds sentences a person would see that do not go through the catalogue (core/i18n.py).

Used by tests/test_i18n.py, and by hand: ``python tests/i18n_lint.py [FILE...]`` lists what is left.

- In ``app.py``, ``pages/`` and ``ui/``: a string literal or f-string with letters, given straight to a
  Streamlit call that shows it (labels, help texts, captions, markdown, messages, tabs, page titles) or as a
  chart's visible text (titles, axis titles, trace names, hover templates).
- In ``core/``: a literal given straight to ``UserError(...)``, to an event's ``message=``, or to
  ``Term(...)``-like displays must be ``_()`` / ``lazy()`` / ``ngettext`` / ``lazy_ngettext`` calls.
A line may say ``# not-translated: <why>`` (a product name, a language's own name) to be let through.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOWN_BY_STREAMLIT = {
    "title", "header", "subheader", "markdown", "caption", "write", "text", "info", "warning", "error", "success",
    "toast", "button", "download_button", "link_button", "checkbox", "toggle", "radio", "selectbox",
    "multiselect", "slider", "select_slider", "number_input", "text_input", "text_area", "file_uploader",
    "expander", "tabs", "popover", "metric", "form_submit_button", "page_link", "Page", "spinner", "status",
    "segmented_control", "pills", "color_picker", "date_input", "time_input", "chat_input", "progress",
    "feedback", "camera_input", "dialog", "TextColumn", "NumberColumn", "ProgressColumn", "CheckboxColumn",
    "SelectboxColumn", "LinkColumn", "ImageColumn", "Column", "ListColumn", "LineChartColumn", "BarChartColumn",
}
SHOWN_KEYWORDS = {"label", "help", "placeholder", "caption", "text", "body", "title", "value_label"}
CHART_KEYWORDS = {"title", "title_text", "xaxis_title", "yaxis_title", "legend_title_text", "name",
                  "hovertemplate", "text", "annotation_text", "colorbar_title"}
CORE_CALLS = {"UserError", "DamagedRun"}
MARKERS = {"_", "ngettext", "lazy", "lazy_ngettext", "N_"}
LETTERS = re.compile(r"[A-Za-z]{2,}")
WAIVER = "# not-translated"


def _literal_text(node: ast.AST) -> str | None:
    """The visible letters of a string literal or f-string (None for anything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = _literal_text(node.left), _literal_text(node.right)
        if left is not None or right is not None:
            return (left or "") + (right or "")
    if isinstance(node, ast.IfExp):
        texts = [_literal_text(node.body), _literal_text(node.orelse)]
        if any(text is not None for text in texts):
            return " ".join(text or "" for text in texts)
    if isinstance(node, (ast.List, ast.Tuple)):
        texts = [_literal_text(element) for element in node.elts]
        if any(text is not None for text in texts):
            return " ".join(text or "" for text in texts)
    return None


def _is_sentence(text: str | None) -> bool:
    if text is None:
        return False
    stripped = re.sub(r":material/[a-z_]+:|:[a-z_]+\[|\]|https?://\S+", " ", text)
    if re.fullmatch(r"[\w./:-]*(/|_|\.\w)[\w./:-]*", stripped.strip()):  # a path, a key, a file name
        return False
    return bool(LETTERS.search(stripped))


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def problems_in(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    relative = path.relative_to(ROOT).as_posix()
    in_core = relative.startswith("core/")
    found = []

    def waived(node: ast.AST) -> bool:
        return any(WAIVER in lines[number - 1] for number in range(node.lineno, (node.end_lineno or node.lineno) + 1))

    def report(node: ast.AST, text: str) -> None:
        if not waived(node):
            found.append(f"{relative}:{node.lineno}: {text.strip()[:70]!r}")

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if in_core:
            if name in CORE_CALLS:
                for argument in node.args[:2]:
                    if _is_sentence(_literal_text(argument)):
                        report(argument, _literal_text(argument))
            for keyword in node.keywords:
                if keyword.arg == "message" and _is_sentence(_literal_text(keyword.value)):
                    report(keyword.value, _literal_text(keyword.value))
            continue
        if name in SHOWN_BY_STREAMLIT:
            arguments = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
            if name == "tabs" or name in ("radio", "selectbox", "segmented_control", "pills"):
                arguments += list(node.args[1:2]) + [k.value for k in node.keywords if k.arg == "options"]
            for argument in arguments:
                if _is_sentence(_literal_text(argument)):
                    report(argument, _literal_text(argument))
        for keyword in node.keywords:
            if keyword.arg in CHART_KEYWORDS - SHOWN_KEYWORDS | {"title"} and name not in SHOWN_BY_STREAMLIT:
                if _is_sentence(_literal_text(keyword.value)):
                    report(keyword.value, _literal_text(keyword.value))
    return found


def files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")),
            *sorted(p for p in (ROOT / "core").rglob("*.py") if p.name != "predict_template.py")]


def all_problems(paths: list[Path] | None = None) -> list[str]:
    return [problem for path in (paths or files()) for problem in problems_in(path)]


if __name__ == "__main__":
    chosen = [Path(name).resolve() for name in sys.argv[1:]] or None
    problems = all_problems(chosen)
    print("\n".join(problems) or "nothing left unmarked")
    print(f"{len(problems)} unmarked", file=sys.stderr)
