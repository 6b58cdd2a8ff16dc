"""Tables of labelled texts: CSV, TSV or Excel, read without fuss, columns guessed, split, reported.

Real files are messy: UTF-8 with or without BOM, or legacy Windows-1252/Latin-1; ; or tab
delimiters; quoted multi-line fields; trailing empty "Unnamed" columns; a header or none. Each
fix that was needed is said in the report, and so is every row that was dropped. Those sentences (layout,
notes, warnings, skipped rows' reasons) are lazy Texts (core/i18n.py): shown later, in the language chosen then.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.data.report import DataReport, balance_warnings, stratified_split
from core.data import encodings, languages
from core.errors import UserError
from core.i18n import Text, lazy, lazy_ngettext

SPLIT_VALUES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                "dev": "val", "test": "test"}
LABEL_HINTS = ("label", "labels", "class", "category", "target", "topic", "sentiment", "y", "v1")
TEXT_HINTS = ("text", "message", "sms", "body", "content", "sentence", "review", "document", "comment", "v2")


@dataclass
class Table:
    frame: pd.DataFrame
    encoding: str                         # Python codec name, or "xlsx"
    delimiter: str | None
    notes: list[Text]                     # lazy Texts
    decoded: encodings.Decoded | None = None   # how the bytes became text (None for Excel)


def read_table(path: str | Path, encoding: str | None = None) -> Table:
    """Read a CSV/TSV/TXT (``encoding``: detected when None) or the first sheet of an Excel workbook."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
        except Exception as error:
            raise UserError(lazy("Could not read {file} as an Excel workbook ({error}).", file=path.name,
                                 error=str(error)),
                            lazy("Open it in a spreadsheet program and save it as .xlsx or .csv.")) from error
        name, frame = next(iter(sheets.items()))
        notes = [lazy("Read the first sheet, '{sheet}'.", sheet=str(name))] if len(sheets) > 1 else []
        return Table(_tidy(frame, notes), "xlsx", None, notes)
    decoded = encodings.decode(path.read_bytes(), path.name, encoding)
    text, notes = decoded.text, [note for note in [decoded.note()] if note]
    if not text.strip():
        raise UserError(lazy("{file} is empty.", file=path.name), lazy("Upload a file with one row per example."))
    sample = text[:65536]
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    first_row = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    has_header = _looks_like_header(first_row)
    if delimiter != ",":
        notes.append({"\t": lazy("Columns are separated by tabs."), ";": lazy("Columns are separated by semicolons."),
                      "|": lazy("Columns are separated by '|'.")}[delimiter])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=0 if has_header else None, dtype=str,
                            keep_default_na=False, skip_blank_lines=True, on_bad_lines="warn")
    except (pd.errors.ParserError, csv.Error) as error:
        raise UserError(lazy("Could not parse {file} as a table ({error}).", file=path.name, error=str(error)),
                        lazy("Check that every row has the same number of columns, and that quotes are closed.")) \
            from error
    if not has_header:
        frame.columns = [f"column {i + 1}" for i in range(frame.shape[1])]
        notes.append(lazy("No header row was found; columns are named 'column 1', 'column 2'..."))
    return Table(_tidy(frame, notes), decoded.encoding, delimiter, notes, decoded)


def _looks_like_header(cells: list[str]) -> bool:
    """Column names are short, distinct and not numbers; a first row of data usually is not all three
    (csv.Sniffer's own guess fails on long free text)."""
    names = [c.strip() for c in cells if c.strip()]  # "v1,v2,,," has empty trailing names
    if not names or any(len(n) > 40 for n in names) or len(set(names)) < len(names):
        return False
    for name in names:
        try:
            float(name)
            return False
        except ValueError:
            continue
    return True


def _tidy(frame: pd.DataFrame, notes: list[Text]) -> pd.DataFrame:
    """Strip cells, turn blanks into missing values, drop columns that hold nothing."""
    frame = frame.apply(lambda column: column.str.strip() if column.dtype == object else column)
    frame = frame.replace("", pd.NA)
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        notes.append(lazy_ngettext("Ignored {n} empty column: {columns}.", "Ignored {n} empty columns: {columns}.",
                                   len(empty), columns=", ".join(map(str, empty))))
    frame = frame.drop(columns=empty)
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def guess_columns(frame: pd.DataFrame) -> tuple[str, str]:
    """(text column, label column): the label has few distinct short values, the text is long."""
    if frame.shape[1] < 2:
        raise UserError(lazy("The table has fewer than two columns; it needs a text column and a label column."),
                        lazy("Add a column with the label of each text."))
    stats = {}
    for column in frame.columns:
        values = frame[column].dropna().astype(str)
        if len(values) == 0:
            continue
        stats[column] = {"distinct": values.nunique(), "length": values.str.len().mean(), "count": len(values)}
    usable = {c: s for c, s in stats.items() if c.lower() != "split"}

    def label_score(column: str) -> float:
        s = usable[column]
        few = s["distinct"] <= max(2, min(100, 0.2 * s["count"]))
        return (column.lower() in LABEL_HINTS) * 2 + few * 3 - s["length"] / 100 - s["distinct"] / max(s["count"], 1)

    def text_score(column: str) -> float:
        s = usable[column]
        return (column.lower() in TEXT_HINTS) * 2 + s["length"] / 20 + s["distinct"] / max(s["count"], 1)

    label = max(usable, key=label_score)
    text = max((c for c in usable if c != label), key=text_score)
    return text, label


def load_dataset(source: str | Path, val_fraction: float = 0.2, seed: int = 0, text_column: str | None = None,
                 label_column: str | None = None, encoding: str | None = None, min_classes: int = 2) -> DataReport:
    text_source = str(source)
    if text_source.startswith("sample:"):
        from core.data import samples

        path = samples.ensure_text_sample(text_source.split(":", 1)[1])
    else:
        path = Path(text_source).expanduser()
        if not path.is_file():
            raise UserError(lazy("No file at {path}.", path=str(path)),
                            lazy("Check the path, or upload the file instead."))
    table = read_table(path, encoding)
    frame = table.frame
    guessed_text, guessed_label = guess_columns(frame)
    text_column, label_column = text_column or guessed_text, label_column or guessed_label
    choices = lazy("Choose one of: {columns}.", columns=", ".join(frame.columns))
    if text_column not in frame.columns:
        raise UserError(lazy("There is no column named '{column}' for the text.", column=text_column), choices)
    if label_column not in frame.columns:
        raise UserError(lazy("There is no column named '{column}' for the label.", column=label_column), choices)
    if text_column == label_column:
        raise UserError(lazy("The text and the label must be different columns."), lazy("Pick another label column."))
    return _report(path, table, text_column, label_column, (guessed_text, guessed_label), val_fraction, seed,
                   min_classes)


def _rows(frame, text_column: str, label_column: str, split_column: str | None):
    """Each usable row's text, label and split (keyed by row), the rows left out and why, and how many of
    those had an empty text or label."""
    keys = [f"{index:07d}" for index in range(len(frame))]   # whole columns at once: 200,000 rows in a second
    text_missing, label_missing = frame[text_column].isna().to_numpy(), frame[label_column].isna().to_numpy()
    text_values, label_values = frame[text_column].astype(str).tolist(), frame[label_column].astype(str).tolist()
    split_values = frame[split_column].astype(str).str.strip().str.lower().map(SPLIT_VALUES).tolist() \
        if split_column is not None else None
    skipped, texts, labels, splits = [], {}, {}, {}
    dropped = 0   # rows with an empty text or label
    for index, key in enumerate(keys):
        if text_missing[index] or label_missing[index]:
            reason = lazy("empty text") if text_missing[index] else lazy("empty label")
            skipped.append({"path": lazy("row {row}", row=index + 1), "reason": reason})
            dropped += 1
            continue
        if split_values is not None:
            split = split_values[index]
            if not isinstance(split, str) or split == "test":
                skipped.append({"path": lazy("row {row}", row=index + 1),
                                "reason": lazy("test row, kept aside") if split == "test" else
                                lazy("unknown split value '{value}'", value=str(frame[split_column].iat[index]))})
                continue
            splits[key] = split
        texts[key], labels[key] = text_values[index], label_values[index]
    return texts, labels, splits, skipped, dropped


def _split(texts: dict, labels: dict, splits: dict, classes: list[str], split_column: str | None,
           val_fraction: float, seed: int):
    """(train, val, layout): the table's own split column when it has one, else a stratified split."""
    index = {name: i for i, name in enumerate(classes)}
    if split_column is not None:
        train = [(k, index[labels[k]]) for k in texts if splits[k] == "train"]
        val = [(k, index[labels[k]]) for k in texts if splits[k] == "val"]
        layout = lazy("Used the '{column}' column: {train:,} train and {val:,} validation rows.", column=split_column,
                      train=len(train), val=len(val))
        if not train or not val:
            hint = lazy("Mark some rows as train and some as val, or remove the column to split automatically.")
            if not train:
                raise UserError(lazy("The '{column}' column leaves no training rows.", column=split_column), hint)
            raise UserError(lazy("The '{column}' column leaves no validation rows.", column=split_column), hint)
    else:
        found: dict[str, list[str]] = {name: [] for name in classes}
        for key in texts:
            found[labels[key]].append(key)
        train, val = stratified_split(found, classes, val_fraction, seed)
        layout = lazy_ngettext("{n:,} labelled row; split {train:.0%} train / {val:.0%} validation per label "
                               "(seed {seed}).",
                               "{n:,} labelled rows; split {train:.0%} train / {val:.0%} validation per label "
                               "(seed {seed}).", len(texts), train=1 - val_fraction, val=val_fraction, seed=seed)
    return train, val, layout


def _report(path: Path, table: Table, text_column: str, label_column: str, guessed: tuple[str, str],
            val_fraction: float, seed: int, min_classes: int = 2) -> DataReport:
    frame = table.frame
    split_column = next((c for c in frame.columns if c.lower() == "split"), None)
    texts, labels, splits, skipped, dropped = _rows(frame, text_column, label_column, split_column)
    classes = sorted(set(labels.values()), key=_natural)
    if not classes:
        raise UserError(lazy("No row has both a text and a label."),
                        lazy("Check the columns '{text}' and '{label}'.", text=text_column, label=label_column))
    if len(classes) < min_classes:
        raise UserError(lazy("Every row has the same label ('{label}'); a classifier needs at least two.",
                             label=classes[0]),
                        lazy("Check that '{column}' is the label column, or add examples of other labels.",
                             column=label_column))
    warnings = [lazy("Label '{label}' has a single example: it can be learned from but not checked on validation "
                     "data. Add more examples of it, or merge it into another label.", label=str(name))
                for name, count in pd.Series(list(labels.values())).value_counts().items() if count == 1]
    train, val, layout = _split(texts, labels, splits, classes, split_column, val_fraction, seed)
    if dropped:
        warnings.append(lazy_ngettext("{n} row with an empty text or label was left out.",
                                      "{n} rows with an empty text or label were left out.", dropped))
    digest = hashlib.sha256(f"{text_column}\0{label_column}\0{classes}".encode())
    for key in sorted(texts):
        digest.update(f"{key}\0{labels[key]}\0{texts[key]}\n".encode())
    language = languages.detect_remembered(list(texts.values()), digest.hexdigest()[:20], seed)
    decoded = table.decoded
    report = DataReport(root=str(path), classes=classes, train=sorted(train), val=sorted(val), layout=layout,
                        skipped=skipped, warnings=warnings, fingerprint=digest.hexdigest()[:20], modality="text",
                        texts=texts, details={"encoding": table.encoding, "delimiter": table.delimiter,
                                              # in English: _() of it, or encodings.title(encoding), translates
                                              "encoding_title": encodings.english_title(table.encoding),
                                              "encoding_confidence": decoded.confidence if decoded else 1.0,
                                              "encoding_chosen_by": decoded.chosen_by if decoded else "detected",
                                              "encoding_alternatives": decoded.alternatives if decoded else [],
                                              "language": language.to_dict() if language else None,
                                              "notes": table.notes, "columns": list(frame.columns),
                                              "text_column": text_column, "label_column": label_column,
                                              "guessed": {"text": guessed[0], "label": guessed[1]},
                                              "split_column": split_column})
    report.warnings += balance_warnings(report)
    return report


def _natural(value: str) -> tuple:
    """Numbers in numeric order (2 before 10), then words."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)

