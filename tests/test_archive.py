import io
import zipfile

import pytest

from core.data import archive
from core.errors import UserError


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, data in entries.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def test_entries_escaping_the_target_are_skipped_and_reported(tmp_path):
    data = _zip({"../evil.png": b"x", "../../etc/evil2.png": b"x", "/abs.png": b"x",
                 "cls\\..\\..\\win.png": b"x", "ok/cls/a.png": b"fine"})
    target = tmp_path / "deep" / "out"
    skipped = archive.extract_zip(io.BytesIO(data), target)
    assert (target / "ok" / "cls" / "a.png").read_bytes() == b"fine"
    assert not (tmp_path / "deep" / "evil.png").exists() and not (tmp_path / "evil.png").exists()
    assert not list(tmp_path.rglob("evil2.png")) and not list(tmp_path.rglob("win.png"))
    reasons = {s["path"]: str(s["reason"]) for s in skipped}
    assert "outside" in reasons["../evil.png"] and "outside" in reasons["/abs.png"]
    assert "outside" in reasons["cls/../../win.png"]


def test_macos_metadata_and_hidden_files_are_skipped(tmp_path):
    data = _zip({"__MACOSX/cls/._a.png": b"junk", "cls/.DS_Store": b"junk", "cls/a.png": b"img"})
    skipped = archive.extract_zip(io.BytesIO(data), tmp_path / "out")
    assert sorted(str(s["reason"]) for s in skipped) == ["hidden file", "macOS metadata folder (__MACOSX)"]
    assert (tmp_path / "out" / "cls" / "a.png").exists()


def test_file_count_cap_refuses_and_leaves_nothing(tmp_path):
    data = _zip({f"cls/{i}.png": b"x" for i in range(6)})
    with pytest.raises(UserError, match="6 files, more than the limit of 5"):
        archive.extract_zip(io.BytesIO(data), tmp_path / "out", archive.ZipLimits(max_files=5))
    assert list(tmp_path.iterdir()) == []


def test_total_size_cap_stops_a_zip_bomb(tmp_path):
    data = _zip({"cls/big.png": b"\0" * 50_000})
    with pytest.raises(UserError, match="zip bomb"):
        archive.extract_zip(io.BytesIO(data), tmp_path / "out", archive.ZipLimits(max_total_bytes=10_000))
    with pytest.raises(UserError, match="zip bomb"):  # a huge compression ratio is refused on its own
        archive.extract_zip(io.BytesIO(data), tmp_path / "out2", archive.ZipLimits(max_ratio=20))
    assert list(tmp_path.iterdir()) == []


def test_not_a_zip_gets_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="not a readable .zip"):
        archive.extract_zip(io.BytesIO(b"this is text"), tmp_path / "out")


def test_same_upload_reuses_its_folder(tmp_path):
    data = _zip({"cls/a.png": b"img"})
    first = archive.import_zip(data, tmp_path / "uploads")
    second = archive.import_zip(data, tmp_path / "uploads")
    assert first == second and (first / "cls" / "a.png").exists()
    assert archive.import_skips(first) == []
