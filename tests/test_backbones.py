import numpy as np
import pytest
import torch

from core import backbones
from core.backbones import image_backbones
from core.errors import UserError
from core.loaders import eval_transform

REQUIRED = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet18", "resnet50",
            "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny", "vit_b_16", "small_cnn"]


def test_registry_lists_the_promised_backbones_with_their_preprocessing():
    names = [spec.name for spec in backbones.list_specs("image")]
    assert set(REQUIRED) <= set(names)
    lite = backbones.get("efficientnet_lite0")
    assert (lite.input_size, lite.resize_size, lite.mean, lite.feature_dim) == (224, 256, (0.5, 0.5, 0.5), 1280)
    assert backbones.get("resnet18").mean == (0.485, 0.456, 0.406)
    entry = backbones.to_json(lite)
    assert entry["available"] is True and entry["modality"] == "image"


@pytest.mark.parametrize("name", REQUIRED)
def test_every_architecture_builds_and_matches_its_entry(name):
    spec = backbones.get(name)
    model = backbones.create_backbone(spec, pretrained=False).eval()
    with torch.no_grad():
        features = model(torch.zeros(1, 3, spec.input_size, spec.input_size))
    assert features.shape == (1, spec.feature_dim)
    assert sum(p.numel() for p in model.parameters()) == spec.num_params


def test_missing_torchvision_weights_say_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    availability = backbones.get("resnet18").availability()
    assert availability.status == "missing"
    assert "resnet18-f37072fd.pth" in availability.detail and str(tmp_path / "hub" / "checkpoints") in availability.detail
    with pytest.raises(UserError, match="not on this machine"):
        backbones.create_backbone(backbones.get("resnet18"))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"")
    assert backbones.get("resnet18").availability().status == "local"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UserError, match="efficientnet_lite0"):
        backbones.get("efficientnet_lit0")


def test_efficientnet_lite0_loads_real_imagenet_weights_offline():
    """The renamed state dict loads strictly and recognises a real photo (sklearn's china.jpg)."""
    import timm
    from PIL import Image
    from sklearn.datasets import load_sample_images

    spec = backbones.get("efficientnet_lite0")
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(image_backbones._lite_weights_file(0), map_location="cpu", weights_only=True)
    model.load_state_dict(image_backbones._rename_lite_keys(state, model), strict=True)
    china = Image.fromarray(np.asarray(load_sample_images().images[0]))
    with torch.no_grad():
        top5 = model.eval()(eval_transform(spec)(china)[None]).topk(5).indices[0].tolist()
    assert 698 in top5  # ImageNet class 698: palace
    features = backbones.create_backbone(spec).eval()(torch.zeros(1, 3, 224, 224))
    assert features.shape == (1, 1280)


def test_a_hub_model_that_is_not_here_is_refused_at_once_when_the_hub_cannot_be_reached(monkeypatch):
    """The Model page builds the chosen backbone to count its layers, and an address can name any backbone:
    a Hugging Face model that is neither cached nor downloadable is refused with what to do, from the cache
    alone (transformers, asked normally, retried the connection for about 25 s first)."""
    import socket

    from core import strategies

    asked = []

    def no_network(*args, **kwargs):
        asked.append(args)
        raise OSError("no network in this test")
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(UserError, match="not on this machine, and the Hugging Face hub cannot be reached.*"
                                        "huggingface-cli download bert-base-uncased"):
        strategies.get("fine_tune").layers(backbones.get("bert-base-uncased"), 2)
    with pytest.raises(UserError, match="not in this machine's Hugging Face cache"):
        backbones.get("hf:someone/not-cached-model")
    # the model's files were never asked for (huggingface_hub may look up its agent registry once per process;
    # asked normally, transformers tried the connection again and again)
    assert len(asked) <= 1
