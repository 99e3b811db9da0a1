import io
import os

import numpy as np
import pytest
from PIL import Image

from labelapp.learning import data
from labelapp.learning.data import (
    PAD_VALUE,
    Letterbox,
    PoolCache,
    VectorCache,
    decode_rgb,
    letterbox,
    prepare,
    resize_square,
)


def _encode(arr: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    im.save(buf, format=fmt)
    return buf.getvalue()


def _rand_img(h=20, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- decode_rgb ---------------------------------------------------------------


def test_decode_png_bytes_round_trip():
    img = _rand_img()
    out = decode_rgb(_encode(img))
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, img)


def test_decode_path_and_pathlike(tmp_path):
    img = _rand_img()
    p = tmp_path / "a.png"
    p.write_bytes(_encode(img))
    np.testing.assert_array_equal(decode_rgb(p), img)
    np.testing.assert_array_equal(decode_rgb(str(p)), img)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_decode_converts_modes_to_rgb(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = decode_rgb(_encode(_rand_img(), fmt=fmt, mode=mode))
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


def test_decode_applies_exif_orientation():
    img = _rand_img(10, 40)
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW for display
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    assert decode_rgb(buf.getvalue()).shape == (40, 10, 3)


@pytest.mark.parametrize("bad", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_decode_bad_bytes_raise_value_error(bad):
    with pytest.raises(ValueError):
        decode_rgb(bad)


def test_decode_truncated_jpeg_raises_value_error():
    good = _encode(_rand_img(64, 64), fmt="JPEG")
    with pytest.raises(ValueError):
        decode_rgb(good[: len(good) // 2])


def test_decode_missing_file_and_bad_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        decode_rgb(tmp_path / "missing.png")
    with pytest.raises(ValueError):
        decode_rgb(12345)


# -- resize / letterbox / prepare ----------------------------------------------


def test_resize_square():
    out = resize_square(_rand_img(20, 30), 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    img = _rand_img(16, 16)
    np.testing.assert_array_equal(resize_square(img, 16), img)


@pytest.mark.parametrize(
    "img, size",
    [
        (np.zeros((4, 4, 3), np.float32), 8),
        (np.zeros((4, 4), np.uint8), 8),
        (np.zeros((4, 4, 4), np.uint8), 8),
        (np.zeros((0, 4, 3), np.uint8), 8),
        (np.zeros((4, 4, 3), np.uint8), 0),
        (np.zeros((4, 4, 3), np.uint8), 2.5),
        ([[1, 2, 3]], 8),
    ],
)
def test_bad_images_and_sizes_raise(img, size):
    with pytest.raises(ValueError):
        resize_square(img, size)
    with pytest.raises(ValueError):
        letterbox(img, size)


def test_letterbox_wide_image_hand_computed():
    img = np.full((100, 200, 3), 200, np.uint8)  # H=100, W=200
    out, lb = letterbox(img, 64)
    # scale = 64/200 = 0.32 -> 64 x 32, centred vertically: pad_y = 16.
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert lb == Letterbox(scale=0.32, pad_x=0.0, pad_y=16.0, size=64, width=200, height=100)
    assert (out[:16] == PAD_VALUE).all() and (out[48:] == PAD_VALUE).all()
    assert (out[16:48] == 200).all()
    boxes = np.array([[10, 20, 110, 70], [0, 0, 200, 100]], np.float32)
    expected = np.array([[3.2, 22.4, 35.2, 38.4], [0, 16, 64, 48]], np.float32)
    mapped = lb.to_input(boxes)
    assert mapped.dtype == np.float32 and mapped.shape == (2, 4)
    np.testing.assert_allclose(mapped, expected, atol=1e-5)
    np.testing.assert_allclose(lb.to_original(mapped), boxes, atol=1e-4)


def test_letterbox_tall_image_and_round_trip():
    img = _rand_img(120, 40)
    _out, lb = letterbox(img, 96)
    # scale = 96/120 = 0.8 -> 32 x 96, pad_x = 32.
    assert (lb.scale, lb.pad_x, lb.pad_y) == (0.8, 32.0, 0.0)
    boxes = np.array([[5, 10, 35, 110]], np.float32)
    np.testing.assert_allclose(lb.to_input(boxes), [[36, 8, 60, 88]], atol=1e-5)
    np.testing.assert_allclose(lb.to_original(lb.to_input(boxes)), boxes, atol=1e-4)


def test_letterbox_to_original_clips_and_handles_empty():
    lb = Letterbox(scale=0.5, pad_x=0.0, pad_y=10.0, size=50, width=100, height=60)
    np.testing.assert_allclose(lb.to_original(np.array([[0, 0, 50, 50]])), [[0, 0, 100, 60]])
    assert lb.to_input(np.zeros((0, 4))).shape == (0, 4)
    assert lb.to_original([]).shape == (0, 4)
    # Without the original size, no clipping.
    lb2 = Letterbox(scale=0.5, pad_x=0.0, pad_y=10.0, size=50)
    np.testing.assert_allclose(lb2.to_original(np.array([[0, 0, 50, 50]])), [[0, -20, 100, 80]])


def test_letterbox_bad_boxes_and_params():
    lb = Letterbox(scale=1.0, pad_x=0.0, pad_y=0.0, size=8)
    with pytest.raises(ValueError):
        lb.to_input(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        lb.to_input(np.array([[0, 0, np.nan, 1]]))
    with pytest.raises(ValueError):
        Letterbox(scale=0.0, pad_x=0, pad_y=0, size=8)


def test_prepare():
    img = _rand_img(20, 30)
    x, t = prepare(img, 16, "classification")
    assert x.shape == (16, 16, 3) and t is None
    x, t = prepare(img, 16, "detection")
    assert x.shape == (16, 16, 3) and isinstance(t, Letterbox)
    with pytest.raises(ValueError):
        prepare(img, 16, "segmentation")


def test_data_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import labelapp.learning.data, sys; assert 'torch' not in sys.modules"
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    )


# -- PoolCache -----------------------------------------------------------------


def _chunk(n=5, size=8, seed=0, start=0):
    ids = np.arange(start, start + n, dtype=np.int64)
    images = np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return ids, images


def test_pool_cache_round_trip(tmp_path):
    cache = PoolCache(tmp_path / "c", 8)
    ids, images = _chunk()
    cache.write_chunk("chunk-000", ids, images)
    got_ids, got_images = cache.read_chunk("chunk-000")
    assert got_ids.dtype == np.int64
    np.testing.assert_array_equal(got_ids, ids)
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 8, 8, 3)
    np.testing.assert_array_equal(got_images, images)
    assert isinstance(got_images.base, np.memmap) or isinstance(got_images, np.memmap)
    assert not got_images.flags.writeable
    assert cache.chunk_names() == ["chunk-000"]


def test_pool_cache_empty_chunk_and_overwrite(tmp_path):
    cache = PoolCache(tmp_path, 8)
    cache.write_chunk("a", np.zeros(0, np.int64), np.zeros((0, 8, 8, 3), np.uint8))
    ids, images = cache.read_chunk("a")
    assert ids.shape == (0,) and images.shape == (0, 8, 8, 3)
    new_ids, new_images = _chunk(3, seed=1)
    cache.write_chunk("a", new_ids, new_images)
    np.testing.assert_array_equal(cache.read_chunk("a")[1], new_images)
    cache.delete_chunk("a")
    cache.delete_chunk("a")
    assert cache.chunk_names() == []


def test_pool_cache_get_many_across_chunks(tmp_path):
    cache = PoolCache(tmp_path, 8)
    ids0, im0 = _chunk(4, seed=0, start=0)
    ids1, im1 = _chunk(4, seed=1, start=100)
    cache.write_chunk("c0", ids0, im0)
    cache.write_chunk("c1", ids1, im1)
    got = cache.get_many(np.array([101, 2, 100]))
    np.testing.assert_array_equal(got, np.stack([im1[1], im0[2], im1[0]]))
    assert cache.get_many(np.zeros(0, np.int64)).shape == (0, 8, 8, 3)
    with pytest.raises(KeyError):
        cache.get_many(np.array([1, 999]))
    # Another process's writes are seen after refresh().
    other = PoolCache(tmp_path, 8)
    other.write_chunk("c2", np.array([500]), im0[:1])
    cache.refresh()
    np.testing.assert_array_equal(cache.get_many(np.array([500])), im0[:1])


def test_pool_cache_refresh_reads_only_new_chunks(tmp_path, monkeypatch):
    """Issue 14 item 2: each upload batch writes a chunk and refreshes the index; rebuilding
    it from every chunk file made a burst of N batches cost N² chunk reads."""
    cache, other = PoolCache(tmp_path, 8), PoolCache(tmp_path, 8)
    for c in range(5):
        other.write_chunk(f"c{c}", *_chunk(2, seed=c, start=10 * c))
    cache.get_many(np.array([0]))
    ids, images = _chunk(2, seed=9, start=900)
    other.write_chunk("c9", ids, images)
    opened = []
    real_open = cache._open
    monkeypatch.setattr(cache, "_open", lambda name: opened.append(name) or real_open(name))

    cache.refresh()
    np.testing.assert_array_equal(cache.get_many(ids), images)

    assert set(opened) == {"c9"}
    # Writing through this instance indexes the new chunk without reading any other.
    cache.write_chunk("d0", *_chunk(1, seed=3, start=700))
    cache.get_many(np.array([700]))
    assert set(opened) == {"c9", "d0"}


def test_pool_cache_refresh_sees_a_replaced_or_deleted_chunk(tmp_path):
    cache, other = PoolCache(tmp_path, 8), PoolCache(tmp_path, 8)
    other.write_chunk("a", *_chunk(2, start=0))
    cache.get_many(np.array([0, 1]))
    ids, images = _chunk(2, seed=4, start=50)
    other.write_chunk("a", ids, images)
    cache.refresh()
    np.testing.assert_array_equal(cache.get_many(ids), images)
    with pytest.raises(KeyError):
        cache.get_many(np.array([0]))
    other.delete_chunk("a")
    cache.refresh()
    with pytest.raises(KeyError):
        cache.get_many(ids)


def test_pool_cache_atomic_write_leaves_old_chunk_on_failure(tmp_path, monkeypatch):
    cache = PoolCache(tmp_path, 8)
    ids, images = _chunk()
    cache.write_chunk("c", ids, images)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data.np, "save", crash)
    with pytest.raises(OSError):
        cache.write_chunk("c", *_chunk(seed=5))
    with pytest.raises(OSError):
        cache.write_chunk("new", *_chunk(seed=5))
    monkeypatch.undo()
    # The old chunk is intact, the failed one absent, no temporary files left.
    np.testing.assert_array_equal(cache.read_chunk("c")[1], images)
    assert cache.chunk_names() == ["c"]
    assert sorted(os.listdir(tmp_path)) == ["c.npy"]


def test_pool_cache_ignores_temporary_files(tmp_path):
    cache = PoolCache(tmp_path, 8)
    (tmp_path / ".c.abc.tmp").write_bytes(b"partial")
    (tmp_path / ".hidden.npy").write_bytes(b"partial")
    assert cache.chunk_names() == []


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 200, 3])
def test_pool_cache_bad_names(tmp_path, name):
    cache = PoolCache(tmp_path, 8)
    with pytest.raises(ValueError):
        cache.write_chunk(name, *_chunk())


def test_pool_cache_bad_input(tmp_path):
    cache = PoolCache(tmp_path, 8)
    ids, images = _chunk()
    with pytest.raises(ValueError):
        cache.write_chunk("c", ids[:3], images)
    with pytest.raises(ValueError):
        cache.write_chunk("c", ids, images.astype(np.float32))
    with pytest.raises(ValueError):
        cache.write_chunk("c", np.zeros(5, np.int64), images)  # duplicate ids
    with pytest.raises(ValueError):
        cache.write_chunk("c", ids.astype(np.float64), images)
    with pytest.raises(KeyError):
        cache.read_chunk("missing")
    with pytest.raises(ValueError):
        PoolCache(tmp_path, 0)


def test_pool_cache_size_mismatch(tmp_path):
    PoolCache(tmp_path, 8).write_chunk("c", *_chunk())
    with pytest.raises(ValueError):
        PoolCache(tmp_path, 16).read_chunk("c")


def test_vector_cache_round_trips_float16_vectors_by_id(tmp_path):
    cache = VectorCache(tmp_path / "v", 4)
    vectors = np.array([[1, 0, 0, 0], [0, 0.5, 0.25, 0.125]], dtype=np.float16)

    cache.write_chunk("a", np.array([7, 3]), vectors)

    np.testing.assert_array_equal(cache.get_many(np.array([3, 7])), vectors[::-1])
    with pytest.raises(ValueError, match="float16"):
        cache.write_chunk("b", np.array([1]), np.zeros((1, 4), np.float32))
    with pytest.raises(KeyError):
        cache.get_many(np.array([99]))
