"""Texts in any language: encodings detected (or chosen), languages detected, TF-IDF that counts
characters where words are not separated by spaces, explanations that show the text as written."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import data
from core.data import encodings, languages
from core.config import TrainConfig
from core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

# Real sentences, as people write them in reviews, two labels each.
REVIEWS = {
    "zh": ("gb18030", "Chinese", [
        ("这款手机的电池续航非常好，屏幕也很清晰，物流速度快。", "好评"),
        ("包装完好，总体来说非常满意，推荐购买！", "好评"),
        ("客服态度很好，喆哥耐心解答了我的问题。", "好评"),
        ("质量太差了，用了两天就坏了，非常失望。", "差评"),
        ("发货很慢，等了一个星期，商品和描述不符。", "差评"),
        ("屏幕有划痕，申请退货也没人处理，不推荐。", "差评")]),
    "zh-Hant": ("big5", "Chinese", [
        ("這家餐廳的服務態度很好，菜色也相當美味。", "推薦"),
        ("價格合理，環境乾淨舒適，下次還會再來。", "推薦"),
        ("牛肉麵湯頭濃郁，份量十足，非常值得。", "推薦"),
        ("等了一個小時才上菜，服務生態度冷淡。", "不推薦"),
        ("餐點冷掉了，味道普通，價格卻很貴。", "不推薦"),
        ("桌子很髒，廁所也沒有打掃，令人失望。", "不推薦")]),
    "ja": ("shift_jis", "Japanese", [
        ("このホテルは駅から近くてとても便利でした。", "良い"),
        ("部屋は清潔で、スタッフの対応も丁寧でした。", "良い"),
        ("朝食がおいしくて、また利用したいです。", "良い"),
        ("部屋が狭くて、隣の部屋の音がうるさかったです。", "悪い"),
        ("チェックインに時間がかかり、説明も不親切でした。", "悪い"),
        ("シャワーのお湯が出なくて、がっかりしました。", "悪い")]),
    "ko": ("euc_kr", "Korean", [
        ("이 제품은 품질이 정말 좋고 배송도 빨랐습니다.", "긍정"),
        ("가격 대비 만족스럽고 다음에도 구매할 생각입니다.", "긍정"),
        ("디자인이 예쁘고 사용하기도 편리해요.", "긍정"),
        ("포장이 엉망이었고 제품에 흠집이 있었어요.", "부정"),
        ("한 번 사용했는데 바로 고장이 났습니다.", "부정"),
        ("고객센터에 연락했지만 아무런 답변이 없었어요.", "부정")]),
    "ru": ("cp1251", "Russian", [
        ("Отличный ноутбук, быстро работает, экран яркий и чёткий.", "хорошо"),
        ("Доставка была быстрой, всё пришло в целости, рекомендую.", "хорошо"),
        ("Качество сборки на высоте, батарея держит весь день.", "хорошо"),
        ("Через неделю перестала работать клавиатура, очень жаль.", "плохо"),
        ("Продавец не отвечает на сообщения, деньги не вернули.", "плохо"),
        ("Корпус треснул при первом же падении, не советую.", "плохо")]),
    "fr": ("cp1252", "French", [
        ("Très bon produit, livraison rapide et soignée.", "positif"),
        ("Qualité supérieure à ce que j'attendais, je recommande à tous.", "positif"),
        ("Le café est délicieux et le service très aimable.", "positif"),
        ("Déçu : l'appareil ne s'allume plus après une semaine.", "négatif"),
        ("Le colis est arrivé abîmé et le vendeur ne répond pas.", "négatif"),
        ("Trop cher pour une qualité médiocre, à éviter.", "négatif")]),
    "pl": ("cp1250", "Polish", [  # also decodes "cleanly" as Windows-1252: "Zepsu³ siê"
        ("Bardzo dobry produkt, szybka dostawa i świetna obsługa.", "dobrze"),
        ("Jakość wykonania zachwyca, polecam każdemu.", "dobrze"),
        ("Żółw dotarł cały i zdrowy, źródło wiedzy dla dzieci.", "dobrze"),
        ("Zepsuł się po dwóch dniach, żałuję zakupu.", "źle"),
        ("Paczka przyszła uszkodzona, sprzedawca nie odpowiada.", "źle"),
        ("Za drogo jak na taką słabą jakość, odradzam.", "źle")]),
    "tr": ("cp1254", "Turkish", [  # reads as Icelandic-looking Windows-1252: "þikâyetçiyim"
        ("Ürün çok kullanışlı, kargo da hızlı geldi.", "olumlu"),
        ("Kalitesi gerçekten güzel, herkese tavsiye ederim.", "olumlu"),
        ("Satıcı çok ilgiliydi, teşekkür ederim.", "olumlu"),
        ("İki gün sonra bozuldu, şikâyetçiyim.", "olumsuz"),
        ("Paket hasarlı geldi, iade etmek istiyorum.", "olumsuz"),
        ("Fiyatına göre kalitesi çok düşük, pişmanım.", "olumsuz")]),
    "el": ("cp1253", "Greek", [
        ("Πολύ καλό προϊόν, γρήγορη παράδοση.", "θετικό"),
        ("Εξαιρετική ποιότητα, το συνιστώ ανεπιφύλακτα.", "θετικό"),
        ("Η εξυπηρέτηση ήταν άψογη και φιλική.", "θετικό"),
        ("Χάλασε μετά από δύο μέρες, πολύ απογοητευμένος.", "αρνητικό"),
        ("Το δέμα έφτασε κατεστραμμένο και κανείς δεν απαντά.", "αρνητικό"),
        ("Πολύ ακριβό για τόσο κακή ποιότητα.", "αρνητικό")]),
    "ar": ("cp1256", "Arabic", [
        ("المنتج ممتاز والتوصيل كان سريعا جدا.", "إيجابي"),
        ("جودة عالية وسعر مناسب، أنصح به.", "إيجابي"),
        ("خدمة العملاء رائعة ومتعاونة.", "إيجابي"),
        ("تعطل الجهاز بعد يومين فقط، خيبة أمل.", "سلبي"),
        ("وصل الطرد تالفا ولم يرد البائع.", "سلبي"),
        ("السعر مرتفع جدا مقارنة بالجودة.", "سلبي")]),
}
MIXED = [("Это тест на русском языке, он должен читаться правильно.", "ru"),
         ("这是一个中文测试，每个汉字都必须正确读出。", "zh"),
         ("Ceci est un essai en français, avec des accents élevés.", "fr"),
         ("Dies ist ein Test auf Deutsch, mit Umlauten: schön, Größe.", "de")]


def _csv_text(rows: list[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["review", "label"])
    writer.writerows(rows * 3)  # enough rows for a split
    return buffer.getvalue()


CASES = [(key, encoding) for key, (encoding, _, _) in REVIEWS.items()] + [
    ("mixed", "utf_16"), ("mixed", "utf_16_le"), ("mixed", "utf_16_be"), ("mixed", "utf_8"), ("mixed", "utf_8_sig")]


@pytest.mark.parametrize("key, encoding", CASES, ids=[f"{k}-{e}" for k, e in CASES])
def test_every_encoding_reads_back_the_exact_texts(key, encoding, tmp_path):
    rows = REVIEWS[key][2] if key != "mixed" else MIXED
    text = _csv_text(rows)
    path = tmp_path / f"{key}.csv"
    raw = text.encode(encoding)
    if encoding == "utf_16":
        assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # Python writes the byte-order mark
    path.write_bytes(raw)
    report = data.load_dataset(path)
    assert sorted(report.texts.values()) == sorted(r[0] for r in rows * 3)  # not one character of mojibake
    assert set(report.classes) == {label for _, label in rows}
    detected = report.details["encoding"]
    # the superset of the encoding (GBK -> GB18030, Shift-JIS -> cp932) decodes the same bytes identically
    assert raw.decode(detected) .removeprefix("\ufeff") == text, detected
    assert report.details["encoding_chosen_by"] == "detected"
    assert 0 < report.details["encoding_confidence"] <= 1


@pytest.mark.parametrize("key", list(REVIEWS))
def test_the_language_of_the_text_column_is_detected(key, tmp_path):
    encoding, name, rows = REVIEWS[key]
    path = tmp_path / "reviews.csv"
    path.write_bytes(_csv_text(rows).encode(encoding))
    language = data.load_dataset(path).details["language"]
    assert language["name"] == name and language["share"] >= 0.8
    assert language["unspaced"] == (key in ("zh", "zh-Hant", "ja"))


def test_a_short_chinese_table_full_of_full_width_punctuation_is_read_not_refused(tmp_path):
    """What Excel on a Chinese Windows saves for a class of 40 students' reviews: the detector used before
    found no encoding at all for it ("does not read as text in any encoding")."""
    rows = [(f"{text}，第{i}次{'购买' if label == '好评' else '遇到'}{'！～'[i % 2]}", label) for i in range(20)
            for text, label in (("包装精美，性价比高", "好评"), ("质量太差了，很失望", "差评"))]
    path = tmp_path / "评论.csv"
    path.write_bytes(_csv_text(rows).encode("gb18030"))
    report = data.load_dataset(path)
    assert report.details["encoding"] == "gb18030" and report.details["encoding_confidence"] >= 0.9
    assert sorted(report.texts.values()) == sorted(text for text, _ in rows * 3)


def test_a_few_chinese_names_in_an_english_table_are_read_as_chinese(tmp_path):
    """Too few characters for the detector's statistics (it says Windows-1252: mojibake names); a CJK code
    page that reads them all as common characters wins."""
    rows = [(f"{name} was happy with the delivery", "pos") if i % 2 else (f"{name} got it late and broken", "neg")
            for i, name in enumerate(["张伟", "李娜", "王芳", "刘洋", "陈静", "杨勇"])]
    path = tmp_path / "names.csv"
    path.write_bytes(_csv_text(rows).encode("gb18030"))
    report = data.load_dataset(path)
    assert report.details["encoding"] == "gb18030"
    assert "张伟 was happy with the delivery" not in report.texts.values()  # row 0 is the 'neg' one
    assert "张伟 got it late and broken" in report.texts.values()


def test_the_confidence_grows_with_the_evidence():
    """French in Windows-1252 also reads, differently, as Windows-1250: three accented words leave it
    uncertain, a page of them does not."""
    few = "text,label\nTrès bon,pos\nDéçu,neg\n".encode("cp1252")
    many = ("text,label\n" + "Très bon produit, livraison soignée,pos\nDéçu : abîmé à l'arrivée,neg\n" * 40).encode("cp1252")
    guess = encodings.decode(few, "few.csv")
    assert guess.confidence < encodings.UNCERTAIN and "uncertain" in guess.note()
    assert "Windows-1252" in guess.title + guess.note()  # the right one, or the first one it offers
    decoded = encodings.decode(many, "many.csv")
    assert decoded.encoding == "cp1252" and decoded.confidence >= encodings.UNCERTAIN and decoded.note() is None


def test_a_chosen_encoding_is_used_and_a_wrong_one_is_refused_with_where(tmp_path):
    encoding, _, rows = REVIEWS["zh"]
    path = tmp_path / "zh.csv"
    path.write_bytes(_csv_text(rows).encode(encoding))
    chosen = data.load_dataset(path, encoding="GBK")
    assert chosen.details["encoding_chosen_by"] == "you" and "这款手机" in next(iter(chosen.texts.values()))
    with pytest.raises(UserError, match=r"is not valid UTF-8: byte .. on line 2 does not decode"):
        data.load_dataset(path, encoding="utf-8")
    with pytest.raises(UserError, match="Unknown text encoding 'klingon'"):
        data.load_dataset(path, encoding="klingon")
    with pytest.raises(UserError, match="encoding 'klingon' is not a text encoding"):
        TrainConfig.for_strategy(str(path), "tfidf", encoding="klingon")


def test_bytes_that_are_no_text_are_refused_never_read_as_latin1(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UserError, match="does not read as text in any encoding"):
        data.load_dataset(path)


def test_an_uncertain_guess_says_so():
    decoded = encodings.Decoded("x", "cp1252", 0.6, "detected", ["cp1250", "latin_1"])
    assert "uncertain" in decoded.note() and "Windows-1250" in decoded.note()
    assert encodings.Decoded("x", "gb18030", 1.0, "you").note() == "Read as GB18030 / GBK (Chinese, simplified), as you chose."


def _chinese_reviews(path: Path, per_class: int = 30) -> Path:
    import random

    good = ["质量很好", "非常满意", "物流很快", "推荐购买", "性价比高", "包装精美", "客服热情", "做工精细"]
    bad = ["质量太差", "非常失望", "发货很慢", "不推荐", "做工粗糙", "申请退货", "客服冷漠", "有划痕"]
    rng = random.Random(0)
    rows = [("，".join(rng.sample(words, 3)) + "。", label) for label, words in (("好评", good), ("差评", bad))
            for _ in range(per_class)]
    path.write_bytes(_csv_text(rows[: len(rows)]).encode("gb18030"))
    return path


def test_tfidf_counts_characters_for_chinese_and_exports_the_same_counting(tmp_path):
    from core.inference.export import export_run
    from core.explain import token_importance
    from core.inference import load
    from core.train import fit

    path = _chinese_reviews(tmp_path / "reviews.csv")
    summary = fit(TrainConfig.for_strategy(str(path), "tfidf"))
    assert summary["tfidf_analyzer"] == "char" and "without spaces" in summary["tfidf_reason"]
    assert summary["best_val_acc"] >= 0.95
    vocabulary = json.loads((Path(summary["run_dir"]) / "tfidf_vocabulary.json").read_text())
    assert vocabulary["analyzer"] == "char" and "满意" in vocabulary["vocabulary"]

    result = export_run(summary["run_dir"], tmp_path / "export")
    assert result["parity"]["passed"] and result["parity"]["examples"] > 0
    out = subprocess.run([sys.executable, str(tmp_path / "export" / "predict.py"), "质量很好，非常满意。"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["label"] == "好评"

    explanation = token_importance(load(summary["run_dir"]), "质量很好，非常满意。")
    assert "".join(s + w for s, (w, _) in zip(explanation.separators, explanation.words)) == "质量很好，非常满意。"
    assert [w for w, _ in explanation.words][:4] == ["质", "量", "很", "好"]
    scores = dict(explanation.words)
    assert scores["满"] > 0 and scores["意"] > 0


def test_tfidf_keeps_counting_words_for_spaced_languages(reviews_csv):
    from core.train import fit

    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "tfidf"))
    assert summary["tfidf_analyzer"] == "word"


def test_encoder_warning_when_an_english_model_meets_other_languages():
    chinese = languages.LanguageReport("zh", 0.97, {}, 400)
    warning = languages.encoder_warning("all-MiniLM-L6-v2", ("en",), chinese)
    assert "Chinese (97%)" in warning and "English" in warning and "Multilingual BERT" in warning
    assert "counts characters" in warning
    assert languages.encoder_warning("Multilingual BERT", ("multilingual",), chinese) is None
    assert languages.encoder_warning("all-MiniLM-L6-v2", ("en",), languages.LanguageReport("en", 0.9, {}, 9)) is None
    assert languages.encoder_warning("custom", None, chinese) is None  # unknown: no claim either way


def test_cjk_token_explanations_show_each_character_as_written(tmp_path):
    from core.explain import token_importance
    from core.inference import load
    from core.train import fit
    from tests.helpers import TINY_BERT

    path = _chinese_reviews(tmp_path / "reviews.csv", per_class=12)
    summary = fit(TrainConfig.for_strategy(str(path), "fine_tune", backbone=TINY_BERT, epochs=2, batch_size=8,
                                           patience=0))
    text = "质量很好, Très BIEN 做工精细!"
    explanation = token_importance(load(summary["run_dir"]), text)
    words = [w for w, _ in explanation.words]
    assert "".join(s + w for s, w in zip(explanation.separators, words)) == text  # the text exactly as typed
    assert words[:4] == ["质", "量", "很", "好"] and "Très" in words and "BIEN" in words
    assert abs(sum(abs(s) for _, s in explanation.words) - 1) < 1e-6


def test_cli_prints_the_detected_encoding_and_language_and_takes_encoding(tmp_path, capsys, monkeypatch):
    from core.cli import main

    monkeypatch.setattr("signal.signal", lambda *args: None)  # the command's Ctrl+C handling: not in pytest
    path = _chinese_reviews(tmp_path / "reviews.csv")
    assert main(["train", "--data", str(path), "--strategy", "tfidf", "--out", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    assert "encoding: GB18030 / GBK (Chinese, simplified) (detected" in printed
    assert "language: Chinese" in printed and json.loads(printed.strip().splitlines()[-1])["status"] == "finished"
    code = main(["train", "--data", str(path), "--strategy", "tfidf", "--encoding", "utf-8",
                 "--out", str(tmp_path / "runs")])
    error = capsys.readouterr().err
    assert code == 1 and error.startswith("error: ") and "is not valid UTF-8" in error and len(error.splitlines()) == 1
