"""The interface's language in a real browser: a Chinese browser sees every page in Chinese after a finished
run (no English sentence outside names), an English one sees no Chinese, and the switch changes it in place.

Screenshots of every page in both languages land in test-artifacts/browser-language/ (look at them).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from core.config import TrainConfig
from tests.helpers import TINY
from tests.test_browser import ARTIFACTS, CHROMIUM_FLAGS, _need_a_browser, streamlit_process

PAGES = ["", "data", "model", "train", "results", "predict", "compare", "runs", "lessons"]
# Names that stay as they are in Chinese (models, libraries, file formats, Streamlit's own chrome)
NAMES = re.compile(r"EfficientNet[-\w]*|MiniLM[-\w]*|all-MiniLM[-\w]*|TF-IDF|Grad-CAM|TransferLab|PyTorch|ONNX|"
                   r"Opacus|cleanlab|skada|CORAL|DANN|AdaBN|DP-SGD|ULMFiT|ImageNet|scikit-learn|safetensors|"
                   r"torch\.export|predict\.py|model\.onnx|Hugging Face|ImageFolder|MNIST[-\w]*|BBC News|"
                   r"tiny_test|tiny test|Tiny test|CSV|TSV|XLSX|UTF-8|GB18030|GBK|Excel|Made with Streamlit|"
                   r"Streamlit|Plotly|CPU|GPU|CUDA|Apple|MPS|t-SNE|PCA|LSTM|BERT|ViT|ResNet|MobileNet|"
                   r"Adam|AdamW|SGD|BatchNorm|ReLU|softmax|Softmax|JSON|zip")
ENGLISH = re.compile(r"[A-Za-z][a-z']+(?:[ ,;:]+[A-Za-z][a-z']+){2,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def english_sentences(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Runs of three or more English words in ``text``, once names (and the data's own words) are set aside."""
    for word in allowed:
        text = text.replace(word, " ")
    text = NAMES.sub(" ", text)
    return ENGLISH.findall(text)


def _settle(page) -> None:
    """Wait until the page is drawn through app.py (the sidebar's language switch is there, the main part has a
    title) and Streamlit has finished the script run (its status widget gone), then until it is still."""
    page.locator("[data-testid='stSidebar'] .st-key-lang_switch").wait_for(timeout=90_000)
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=90_000)
    deadline = time.time() + 90
    quiet_since = None
    while time.time() < deadline:
        busy = page.locator("[data-testid='stStatusWidget']").count() > 0
        quiet_since = None if busy else (quiet_since or time.time())
        if quiet_since and time.time() - quiet_since > 2.5:
            break
        time.sleep(0.25)


def _visible_text(page) -> str:
    return page.evaluate("() => [...document.querySelectorAll(\"[data-testid='stMain'], [data-testid='stSidebar']\")]"
                         ".map(e => e.innerText).join('\\n')")


def test_a_chinese_browser_sees_chinese_an_english_one_english_and_the_switch_works(colors_folder, isolated_home,
                                                                                    monkeypatch):
    _need_a_browser()
    from playwright.sync_api import sync_playwright

    from core.train import fit

    run_dir = fit(TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=2))["run_dir"]
    monkeypatch.delenv("TRANSFERLAB_LANG")  # the browser's language decides
    shots = ARTIFACTS / "browser-language"
    shots.mkdir(parents=True, exist_ok=True)
    data_words = ("red", "blue", colors_folder.name, str(colors_folder), Path(run_dir).name, TINY)
    found: dict[str, dict[str, list[str]]] = {"zh-CN": {}, "en-US": {}}
    with streamlit_process(str(colors_folder), isolated_home) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=__import__("shutil").which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            for locale in ("zh-CN", "en-US"):
                context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1800})
                page = context.new_page()
                for name in PAGES:
                    page.goto(f"{url}/{name}?run={run_dir}&backbone={TINY}")
                    _settle(page)
                    page.screenshot(path=shots / f"{locale}-{name or 'start'}.png", full_page=True)
                    text = _visible_text(page)
                    if locale == "zh-CN":
                        assert len(CHINESE.findall(text)) > 40, f"{name}: hardly any Chinese: {text[:300]}"
                        found[locale][name] = english_sentences(text, data_words)
                    else:
                        assert len(english_sentences(text)) > 3, f"{name}: hardly any English: {text[:300]}"
                        found[locale][name] = [line for line in text.splitlines()
                                               if CHINESE.search(line.replace("中文", ""))]
                context.close()
            context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1400})
            page = context.new_page()
            page.goto(f"{url}/model?backbone={TINY}")
            _settle(page)
            page.locator("[data-testid='stSidebar']").get_by_text("中文", exact=True).click()
            _settle(page)
            switched = _visible_text(page)
            page.screenshot(path=shots / "switched-to-chinese.png", full_page=True)
            assert "lang=zh" in page.url
            page.reload()  # the address remembers it
            _settle(page)
            reloaded = _visible_text(page)
        finally:
            browser.close()
    assert not any(found["zh-CN"].values()), f"English on Chinese pages: {found['zh-CN']}"
    assert not any(found["en-US"].values()), f"Chinese on English pages: {found['en-US']}"
    assert len(CHINESE.findall(switched)) > 50 and not english_sentences(switched, data_words)
    assert len(CHINESE.findall(reloaded)) > 50


def test_the_english_sentence_finder():
    assert english_sentences("训练完成：最佳验证准确率 92.5%（EfficientNet-Lite0）") == []
    assert english_sentences("训练 Start training now 完成") == ["Start training now"]
    assert english_sentences("类别 red, blue", ("red", "blue")) == []
