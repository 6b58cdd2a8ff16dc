"""Benchmark: which encoding a table of texts is read in, on tables in 15 languages saved in the code pages
Excel uses for them (GB18030, Big5/cp950, Shift-JIS/cp932, EUC-JP, EUC-KR/cp949, Windows-1250 to -1257,
KOI8-R, Windows-874...), 3 to 200 rows each, plus English tables with a few Chinese names or accents.
A table counts as read right only when every character comes back exactly.

    python bench/encodings.py [--seeds 5] [--out bench/out]

Compares TransferLab's detector (core/data/encodings.py: chardet 7 over the whole file, Excel's variant of the
code page it names, CJK names in Latin text) with the one it replaced (charset-normalizer's cleanest
reading, the most common of those about as clean). Prints the accuracy of each, every miss, and the
seconds per table.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.checks import report as checks_report  # noqa: E402
from core.data import encodings  # noqa: E402
from core.errors import UserError  # noqa: E402

# Sentences as people write them in reviews, and the code pages Excel saves each language in.
LANGUAGES = {
    "Chinese (simplified)": (["gb18030", "gbk", "gb2312"], "，。！～", [
        "这个产品非常好用，我很满意", "质量很好，物流也快", "非常喜欢，值得购买", "包装精美，性价比高", "客服态度很好，推荐",
        "质量太差了，很失望", "物流太慢，包装破损", "不值这个价，退货了", "用了两天就坏了", "客服态度恶劣，不推荐",
        "今天天气很好", "我们明天去北京开会", "这本书的内容很有意思", "电影的结局让人感动", "价格便宜，但是声音有点大"]),
    "Chinese (traditional)": (["cp950", "big5"], "，。！", [
        "這個產品非常好用，我很滿意", "品質很好，物流也快", "非常喜歡，值得購買", "包裝精美，性價比高", "客服態度很好，推薦",
        "品質太差了，很失望", "物流太慢，包裝破損", "不值這個價，退貨了", "用了兩天就壞了", "客服態度惡劣，不推薦"]),
    "Japanese": (["cp932", "shift_jis", "euc_jp"], "、。！", [
        "この製品はとても使いやすいです", "品質が良くて配送も早い", "とても気に入りました。買う価値があります", "包装がきれいでコスパが高い",
        "品質が悪すぎて、がっかりしました", "配送が遅く、箱が壊れていた", "二日で壊れました", "サポートの対応が悪い"]),
    "Korean": (["cp949", "euc_kr"], ".!", [
        "이 제품은 정말 사용하기 편해요", "품질이 좋고 배송도 빨라요", "정말 마음에 들어요, 살 가치가 있어요", "포장이 예쁘고 가성비가 좋아요",
        "품질이 너무 나빠서 실망했어요", "배송이 느리고 포장이 파손됐어요", "이틀 만에 고장 났어요", "고객 서비스가 불친절해요"]),
    "Russian": (["cp1251", "koi8_r"], ".!", [
        "Этот продукт очень удобный, я доволен", "Качество хорошее, доставка быстрая", "Очень понравилось, стоит купить",
        "Качество ужасное, очень разочарован", "Доставка медленная, упаковка повреждена", "Сломался через два дня"]),
    "Ukrainian": (["cp1251"], ".!", ["Товар чудовий, доставка швидка", "Якість погана, дуже розчарований",
                                     "Ціна завелика, але їжа смачна", "Обслуговування привітне, рекомендую"]),
    "French": (["cp1252"], ".!", [
        "Ce produit est très pratique, je suis ravi", "Qualité excellente, livraison rapide", "J'adore, ça vaut le coût",
        "Qualité déplorable, très déçu", "Livraison lente, emballage abîmé", "Cassé après deux jours, à éviter"]),
    "German": (["cp1252"], ".!", [
        "Dieses Produkt ist sehr praktisch, ich bin zufrieden", "Gute Qualität, schnelle Lieferung", "Gefällt mir sehr",
        "Schlechte Qualität, sehr enttäuscht", "Lieferung langsam, Verpackung beschädigt", "Nach zwei Tagen kaputt, größter Ärger"]),
    "Spanish": (["cp1252"], ".!", ["El niño comió en España", "Qué día tan malo, señor", "Envío rápido y atención excelente",
                                   "La calidad es pésima, no lo recomiendo"]),
    "Polish": (["cp1250"], ".!", [
        "Ten produkt jest bardzo wygodny, jestem zadowolony", "Dobra jakość, szybka dostawa", "Zła jakość, bardzo rozczarowany",
        "Zepsuł się po dwóch dniach, żałuję"]),
    "Czech": (["cp1250"], ".!", ["Výrobek je skvělý, doručení rychlé", "Špatná kvalita, velmi zklamaný",
                                 "Obsluha byla příjemná", "Cena je příliš vysoká"]),
    "Turkish": (["cp1254"], ".!", [
        "Bu ürün çok kullanışlı, memnunum", "Kalite güzel, kargo hızlı", "Kalite çok kötü, hayal kırıklığı",
        "İki gün sonra bozuldu, şikâyetçiyim"]),
    "Greek": (["cp1253"], ".!", [
        "Αυτό το προϊόν είναι πολύ πρακτικό", "Καλή ποιότητα, γρήγορη παράδοση", "Κακή ποιότητα, πολύ απογοητευμένος",
        "Χάλασε μετά από δύο μέρες"]),
    "Hebrew": (["cp1255"], ".!", ["המוצר מצוין והמשלוח מהיר", "איכות גרועה מאוד, מאוכזב", "השירות היה נעים", "המחיר גבוה מדי"]),
    "Arabic": (["cp1256"], ".!", ["المنتج ممتاز والتوصيل سريع", "جودة سيئة جدا ومخيبة للآمال", "الخدمة كانت لطيفة", "السعر مرتفع جدا"]),
    "Thai": (["cp874"], " ", ["สินค้าดีมาก ส่งเร็ว", "คุณภาพแย่มาก ผิดหวัง", "บริการดีมาก", "ราคาแพงเกินไป"]),
    "Lithuanian": (["cp1257"], ".!", ["Prekė labai gera, pristatymas greitas", "Kokybė bloga, labai nusivylęs",
                                      "Aptarnavimas malonus", "Kaina per didelė"]),
}
ROWS = (3, 10, 40, 200)
SPECIAL = {  # English tables where only a few words carry the encoding
    "English with Chinese names (GBK)": ("gb18030", "id,name,comment,label\n" + "".join(
        f"{i},张伟{i},Happy with the delivery,pos\n{i},李娜,Late and broken on arrival,neg\n" for i in range(20))),
    "English with a few accents (Windows-1252)": ("cp1252", "text,label\n" + "The café was great,pos\n" * 10
                                                  + "Terrible coffee,neg\n" * 20),
}


def table(sentences: list[str], punctuation: str, rows: int, seed: int) -> str:
    chooser = random.Random(seed)
    lines = ["text,label"]
    for _ in range(rows):
        text = chooser.choice(sentences) + chooser.choice(punctuation)
        if chooser.random() < 0.5:
            text += " " + chooser.choice(sentences) + chooser.choice(punctuation)
        lines.append(f'"{text}",{chooser.choice(["pos", "neg"])}')
    return "\n".join(lines) + "\n"


def cases(seeds: int) -> list[tuple[str, str, str]]:
    found = []
    for language, (code_pages, punctuation, sentences) in LANGUAGES.items():
        for code_page in code_pages:
            for rows in ROWS:
                for seed in range(seeds):
                    found.append((f"{language}, {code_page}, {rows} rows, seed {seed}", code_page,
                                  table(sentences, punctuation, rows, seed)))
    found += [(name, code_page, text) for name, (code_page, text) in SPECIAL.items()]
    return [(name, code_page, text) for name, code_page, text in found if _encodable(text, code_page)]


def _encodable(text: str, code_page: str) -> bool:
    try:
        text.encode(code_page)
        return True
    except UnicodeEncodeError:
        return False


def charset_normalizer_pick(raw: bytes) -> str:
    """The detector TransferLab used before (commit 49f296e): charset-normalizer's matches, the most common
    code page among those within 0.05 of the cleanest; refused when it has none."""
    from charset_normalizer import from_bytes

    common = ("utf_8", "utf_16", "utf_16_le", "utf_16_be", "cp1252", "gb18030", "gbk", "gb2312", "cp1251", "cp932",
              "shift_jis", "big5", "big5hkscs", "cp950", "cp949", "euc_kr", "cp1250", "cp1253", "cp1254", "cp1256",
              "cp1255", "cp1257", "cp1258", "cp874", "euc_jp", "koi8_r", "latin_1", "iso8859_15", "mac_roman")
    supersets = {"gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949", "big5": "big5hkscs"}
    matches = list(from_bytes(raw))
    if not matches:
        raise UserError("refused", "")
    cleanest = min(match.chaos for match in matches)
    rank = {name: index for index, name in enumerate(common)}
    best = min((m for m in matches if m.chaos <= cleanest + 0.05), key=lambda m: (rank.get(m.encoding, 99), m.chaos))
    return supersets.get(best.encoding, best.encoding)


def transferlab_pick(raw: bytes) -> str:
    return encodings.decode(raw, "table.csv").encoding


def score(pick, tables: list[tuple[str, str, str]]) -> tuple[int, list[str], float]:
    right, misses, started = 0, [], time.perf_counter()
    for name, code_page, text in tables:
        raw = text.encode(code_page)
        try:
            chosen = pick(raw)
            ok = raw.decode(chosen) == text
        except UserError:
            chosen, ok = "refused", False
        right += ok
        if not ok:
            misses.append(f"{name}: read as {chosen}")
    return right, misses, (time.perf_counter() - started) / max(len(tables), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    tables = cases(args.seeds)
    results = {}
    for label, pick in (("TransferLab (chardet 7)", transferlab_pick),
                        ("before (charset-normalizer)", charset_normalizer_pick)):
        right, misses, seconds = score(pick, tables)
        results[label] = {"right": right, "tables": len(tables), "misses": misses, "seconds_per_table": seconds}
        print(f"{label}: {right}/{len(tables)} tables read exactly ({right / len(tables):.1%}), "
              f"{seconds * 1000:.1f} ms per table")
        for miss in misses[:40]:
            print(f"    {miss}")
        if len(misses) > 40:
            print(f"    ... and {len(misses) - 40} more")
    ours = results["TransferLab (chardet 7)"]
    checks_report({"every table read exactly": ours["right"] == ours["tables"],
                   "better than before": ours["right"] > results["before (charset-normalizer)"]["right"]},
                  results, args.out, "encodings")


if __name__ == "__main__":
    main()
