"""Lesson 6: texts (a pretrained language model against TF-IDF and an LSTM trained from scratch)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, ahead, register

LSTM = "text_lstm"


def runs(setup: Setup, group: str):
    return [setup.config(setup.texts, strategies.FEATURE_EXTRACTION, group, backbone=setup.text_backbone),
            setup.config(setup.texts, "tfidf", group, backbone=setup.text_backbone),
            setup.config(setup.texts, "scratch", group, backbone=LSTM)]


def _scores(setup: Setup, rows: list[dict]) -> dict:
    return {"pretrained": accuracy(rows, strategies.FEATURE_EXTRACTION), "tfidf": accuracy(rows, "tfidf"),
            "lstm": accuracy(rows, "scratch")}


@register
class Texts(Lesson):
    id = "texts"
    order = 60
    title = N_("Texts: a pretrained language model against the baselines")
    goal = N_("Classify news articles three ways: a pretrained language model's features, word counts (TF-IDF) "
              "and an LSTM that learns from these articles alone.")
    question = N_("Does the pretrained language model beat counting words?")
    variations = (N_("Upload your own table of texts (Chinese works: GBK or UTF-8)."),
                  N_("Fine-tune the language model instead of freezing it (Model page)."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("three", N_("Three models on the same articles"),
                     N_("TF-IDF counts words and learns a weight per word; the LSTM reads words in order but knows "
                        "nothing beforehand; the pretrained model has read a large part of the web."), runs, _scores)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        found = numbers["three"]
        pretrained, tfidf, lstm = found["pretrained"], found["tfidf"], found["lstm"]
        said = dict(pretrained=i18n.percent(pretrained["accuracy"]), tfidf=i18n.percent(tfidf["accuracy"]),
                    lstm=i18n.percent(lstm["accuracy"]))
        over_tfidf, over_lstm = ahead(pretrained, tfidf), ahead(pretrained, lstm)
        if over_tfidf > 0:
            return lazy("The pretrained language model leads: {pretrained}, against {tfidf} for TF-IDF and {lstm} "
                        "for the LSTM from scratch. What it learned from other texts helps it read these.", **said)
        if over_tfidf == 0 and over_lstm > 0:
            return lazy("The pretrained model ({pretrained}) and TF-IDF ({tfidf}) are about the same, both ahead "
                        "of the LSTM from scratch ({lstm}). On news topics, the words themselves give the topic "
                        "away: counting them is a baseline that is hard to beat.", **said)
        return lazy("Not the usual story: TF-IDF reaches {tfidf}, the pretrained model {pretrained}, the LSTM "
                    "{lstm}. When the topic is in the words, counting them is enough, and a model that reads "
                    "English may not fit every text.", **said)
