import numpy as np
from PIL import Image

from core.data.images import load_rgb, probe


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    image = load_rgb(path)
    assert image.mode == "RGB" and image.size == (20, 10)
    red, green, blue = np.asarray(image).reshape(-1, 3).mean(0)
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(load_rgb(path))
    assert pixels.shape == (1, 3, 3)
    assert list(pixels[0, :, 0]) == [0, 128, 255]


def test_transparency_is_composited_on_white(tmp_path):
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(rgba)
    assert np.asarray(load_rgb(rgba))[0, 0].tolist() == [255, 255, 255]
    palette = tmp_path / "palette.gif"
    Image.new("P", (4, 4), 0).save(palette, transparency=0)
    assert load_rgb(palette).mode == "RGB"


def test_exif_orientation_is_respected(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(path, exif=exif)
    assert load_rgb(path).size == (20, 40)


def test_every_supported_format_decodes(tmp_path):
    source = Image.new("L", (8, 8), 100)
    for suffix in ("jpg", "png", "bmp", "gif", "webp", "tiff"):
        path = tmp_path / f"gray.{suffix}"
        source.save(path)
        image = load_rgb(path)
        assert image.mode == "RGB" and image.size == (8, 8), suffix


def test_probe_names_a_corrupt_file(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    assert str(probe(path)).startswith("not a readable image")
    good = tmp_path / "good.png"
    Image.new("RGB", (3, 3)).save(good)
    assert probe(good) is None
