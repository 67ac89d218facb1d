"""Offline teachers and the one-time embedding cache of Chapter 4."""

import numpy as np
import pytest

from jepabook.crossjepa.teachers import PixelTeacher, RandomConvTeacher, _conv3x3_relu, embed_cached


def _images(n=4, size=8, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)


def test_conv_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 4, 5, 2)).astype(np.float32)
    w = rng.normal(size=(3, 3, 2, 3)).astype(np.float32)  # (dy, dx, c_in, c_out)
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    ref = np.zeros((4, 5, 3))
    for i in range(4):
        for j in range(5):
            ref[i, j] = np.einsum("abc,abco->o", padded[i:i + 3, j:j + 3], w)
    out = _conv3x3_relu(x, w.reshape(18, 3))
    np.testing.assert_allclose(out[0], np.maximum(ref, 0), rtol=1e-5, atol=1e-5)


def test_random_conv_teacher_shape_determinism_and_fingerprint():
    t = RandomConvTeacher(channels=(4, 8), seed=1)
    e1, e2 = t.embed(_images()), t.embed(_images())
    assert e1.shape == (4, 16) and e1.dtype == np.float32
    np.testing.assert_array_equal(e1, e2)
    assert t.fingerprint() != RandomConvTeacher(channels=(4, 8), seed=2).fingerprint()
    assert np.abs(e1 - RandomConvTeacher(channels=(4, 8), seed=2).embed(_images())).max() > 0
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        t.embed(np.zeros((4, 8, 8)))


def test_pixel_teacher_is_affine_in_the_pixels():
    t = PixelTeacher(dim=6, pool=2)
    x, y = _images(seed=1), _images(seed=2)
    # e(x) = P·(pool(x) − ½) is affine: e(x) + e(y) − e(½) = e(x + y − ½)
    half = np.full_like(x, 0.5)
    np.testing.assert_allclose(t.embed(x) + t.embed(y) - t.embed(half), t.embed(x + y - 0.5), atol=1e-5)
    np.testing.assert_allclose(t.embed(half), 0.0, atol=1e-7)


class Counting:
    def __init__(self, inner):
        self.inner, self.calls, self.name = inner, 0, inner.name

    def fingerprint(self):
        return self.inner.fingerprint()

    def embed(self, images):
        self.calls += 1
        return self.inner.embed(images)


def test_cache_computes_once_then_reads_back(tmp_path):
    t = Counting(PixelTeacher(dim=5, pool=2))
    imgs = _images()
    e1, info1 = embed_cached(t, imgs, directory=tmp_path)
    e2, info2 = embed_cached(t, imgs, directory=tmp_path)
    assert (info1.hit, info2.hit, t.calls) == (False, True, 1)
    np.testing.assert_array_equal(e1, e2)
    assert info2.teacher_seconds == pytest.approx(info1.teacher_seconds)  # the one-time cost is kept
    assert [p.name for p in tmp_path.iterdir()] == [info1.path.name]  # no temporary file left behind


def test_cache_key_follows_data_and_teacher(tmp_path):
    t = Counting(PixelTeacher(dim=5, pool=2))
    imgs = _images()
    embed_cached(t, imgs, directory=tmp_path)
    changed = imgs.copy()
    changed[0, 0, 0, 0] += 0.25
    _, info = embed_cached(t, changed, directory=tmp_path)
    assert not info.hit and t.calls == 2
    other = Counting(PixelTeacher(dim=5, pool=2, seed=3))
    _, info = embed_cached(other, imgs, directory=tmp_path)
    assert not info.hit and other.calls == 1
    # an explicit data hash replaces the image hash
    _, a = embed_cached(t, imgs, data_hash="world-A", directory=tmp_path)
    _, b = embed_cached(t, imgs, data_hash="world-A", directory=tmp_path)
    assert (a.hit, b.hit) == (False, True)


def test_corrupt_cache_file_is_recomputed(tmp_path):
    t = Counting(PixelTeacher(dim=5, pool=2))
    _, info = embed_cached(t, _images(), directory=tmp_path)
    info.path.write_bytes(b"not an npz file")
    e, again = embed_cached(t, _images(), directory=tmp_path)
    assert not again.hit and t.calls == 2 and e.shape == (4, 5)


def test_a_teacher_with_the_wrong_output_shape_is_refused(tmp_path):
    class Bad:
        name = "bad"

        def fingerprint(self):
            return "bad"

        def embed(self, images):
            return np.zeros((len(images) + 1, 3))

    with pytest.raises(ValueError, match="expected \\(n_images, dim\\)"):
        embed_cached(Bad(), _images(), directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_grey_teacher_sees_luminance_only():
    from jepabook.crossjepa.teachers import LUMA

    x = _images(seed=3) * 0.5 + 0.25
    chroma = np.cross(LUMA, [1.0, 0.0, 0.0]).astype(np.float32)  # a colour direction with zero luma
    y = x + 0.2 * chroma / np.abs(chroma).max()
    grey, colour = RandomConvTeacher(channels=(4, 8), grey=True), RandomConvTeacher(channels=(4, 8))
    np.testing.assert_allclose(grey.embed(x), grey.embed(y), atol=1e-5)
    assert np.abs(colour.embed(x) - colour.embed(y)).max() > 1e-3
    assert grey.fingerprint() != colour.fingerprint()


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    from jepabook.crossjepa.teachers import cache_dir

    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("JEPABOOK_CACHE")
    assert cache_dir().name == ".cache"
