"""DINOv2 in MLX: matches Hugging Face's Dinov2Model on a stored tiny fixture, loads checkpoints strictly.

The fixture (``tests/data/dinov2_tiny*``) was made once by ``tests/data/make_dinov2_fixture.py``
with torch + transformers; these tests need neither.
"""

import shutil
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from jepabook.crossjepa.dinov2 import (DinoV2Config, DinoV2Teacher, config_from_weights, interpolate_positions, load_dinov2,
                             model_from_weights, resize_matrix)

DATA = Path(__file__).parent / "data"
WEIGHTS = DATA / "dinov2_tiny.safetensors"
TINY = DinoV2Config(width=24, depth=2, heads=6, mlp=96, patch=14, pos_grid=4)


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(DATA / "dinov2_tiny_expected.npz"))


@pytest.fixture(scope="module")
def tiny():
    return load_dinov2(WEIGHTS)


def synthetic_weights(width=6, depth=1, mlp=8, patch=2, grid=2, seed=0) -> dict:
    """A complete random checkpoint dict in the Hub's key layout."""
    rng = np.random.default_rng(seed)
    shapes = {"embeddings.cls_token": (1, 1, width), "embeddings.mask_token": (1, width),
              "embeddings.position_embeddings": (1, 1 + grid * grid, width),
              "embeddings.patch_embeddings.projection.weight": (width, 3, patch, patch),
              "embeddings.patch_embeddings.projection.bias": (width,),
              "layernorm.weight": (width,), "layernorm.bias": (width,)}
    for i in range(depth):
        p = f"encoder.layer.{i}."
        for name in ("attention.attention.query", "attention.attention.key", "attention.attention.value",
                     "attention.output.dense"):
            shapes[f"{p}{name}.weight"], shapes[f"{p}{name}.bias"] = (width, width), (width,)
        shapes[f"{p}mlp.fc1.weight"], shapes[f"{p}mlp.fc1.bias"] = (mlp, width), (mlp,)
        shapes[f"{p}mlp.fc2.weight"], shapes[f"{p}mlp.fc2.bias"] = (width, mlp), (width,)
        for name in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "layer_scale1.lambda1",
                     "layer_scale2.lambda1"):
            shapes[p + name] = (width,)
    return {k: mx.array(rng.standard_normal(s).astype(np.float32)) for k, s in shapes.items()}


# --- agreement with transformers --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [112, 56], ids=["interpolated-positions", "native-grid"])
def test_matches_huggingface_last_hidden_state(tiny, expected, size):
    out = np.array(tiny(mx.array(expected[f"input_{size}"])))
    assert out.shape == expected[f"output_{size}"].shape == (2, 1 + (size // 14) ** 2, 24)
    np.testing.assert_allclose(out, expected[f"output_{size}"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.array(tiny.cls(mx.array(expected[f"input_{size}"]))),
                               expected[f"output_{size}"][:, 0], atol=1e-4, rtol=0)


def test_position_resize_matches_torch_bicubic_downsampling(expected):
    grid = expected["grid_7x7"]  # (7, 7, d), a 7x7 table shrunk to 3x5 by torch
    pos = np.concatenate([np.full((1, grid.shape[-1]), 9.0), grid.reshape(49, -1)])[None]
    out = np.array(interpolate_positions(pos, (3, 5)))
    assert out.shape == (1, 16, grid.shape[-1])
    np.testing.assert_array_equal(out[0, 0], 9.0)  # class position untouched
    np.testing.assert_allclose(out[0, 1:], expected["grid_3x5"].reshape(15, -1), atol=1e-5)


def test_bilinear_matrix_matches_torch(expected):
    image = expected["image_5x7"]  # (5, 7, 3) enlarged to 8x8 by torch
    out = np.einsum("oh,hwc,pw->opc", resize_matrix(5, 8, "bilinear"), image, resize_matrix(7, 8, "bilinear"))
    np.testing.assert_allclose(out, expected["image_8x8"], atol=1e-6)


# --- resizing in closed form ------------------------------------------------------------------------------


def test_resize_matrix_closed_form():
    # Keys kernel (a = -0.75) at the first output of a 2 -> 4 resize: taps at t = 0.75, edges clamped.
    np.testing.assert_allclose(resize_matrix(2, 4, "bicubic") @ [0.0, 1.0], [-0.10546875, 0.2265625, 0.7734375,
                                                                           1.10546875])
    np.testing.assert_allclose(resize_matrix(2, 4, "bilinear") @ [0.0, 1.0], [0.0, 0.25, 0.75, 1.0])
    for mode in ("bilinear", "bicubic"):
        np.testing.assert_allclose(resize_matrix(37, 16, mode).sum(1), 1.0)  # constants stay constant
        np.testing.assert_allclose(resize_matrix(5, 5, mode), np.eye(5), atol=1e-12)
    with pytest.raises(ValueError, match="mode must be"):
        resize_matrix(4, 8, "nearest")


def test_interpolate_positions_identity_and_bad_shapes():
    pos = np.random.default_rng(0).standard_normal((1, 17, 8)).astype(np.float32)
    np.testing.assert_array_equal(np.array(interpolate_positions(pos, (4, 4))), pos)
    assert interpolate_positions(pos, (2, 6)).shape == (1, 13, 8)
    with pytest.raises(ValueError, match=r"pos must have shape \(1, 1 \+ g\*g, d\)"):
        interpolate_positions(pos[:, :16], (4, 4))
    with pytest.raises(ValueError, match="grid must be"):
        interpolate_positions(pos, (0, 4))


# --- loading ----------------------------------------------------------------------------------------------


def test_patch_kernel_layout():
    """A kernel that reads only channel 2 at pixel (row 0, col 1) of each patch picks exactly that pixel."""
    w = synthetic_weights(width=6, patch=2, grid=2)
    kernel = np.zeros((6, 3, 2, 2), np.float32)
    kernel[4, 2, 0, 1] = 1.0
    w["embeddings.patch_embeddings.projection.weight"] = mx.array(kernel)
    for key in ("embeddings.patch_embeddings.projection.bias", "embeddings.cls_token",
                "embeddings.position_embeddings"):
        w[key] = mx.zeros(w[key].shape)
    image = np.random.default_rng(1).standard_normal((1, 4, 6, 3)).astype(np.float32)  # a 2x3 patch grid
    tokens = np.array(load_model(w).tokens(mx.array(image)))[0]
    assert tokens.shape == (7, 6)
    np.testing.assert_allclose(tokens[1:, 4], image[0, 0::2, 1::2, 2].ravel(), atol=1e-6)  # row-major grid
    np.testing.assert_array_equal(np.delete(tokens, 4, axis=1), 0.0)


def load_model(weights):
    return model_from_weights(weights, heads=2)


def test_default_config_is_vit_s14_and_layernorms_use_its_eps(tiny):
    assert DinoV2Config() == DinoV2Config(width=384, depth=12, heads=6, mlp=1536, patch=14, pos_grid=37, eps=1e-6)
    norms = [tiny.norm] + [n for block in tiny.blocks for n in (block.norm1, block.norm2)]
    assert [n.eps for n in norms] == [1e-6] * 5
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        DinoV2Config(depth=0)


def test_config_from_weights():
    assert config_from_weights(mx.load(str(WEIGHTS))) == TINY
    assert config_from_weights(synthetic_weights(width=8, depth=3, mlp=20, patch=2, grid=3), heads=4) == \
        DinoV2Config(width=8, depth=3, heads=4, mlp=20, patch=2, pos_grid=3)
    w = synthetic_weights()
    w["embeddings.position_embeddings"] = mx.zeros((1, 6, 6))
    with pytest.raises(ValueError, match="not a square grid"):
        config_from_weights(w)
    with pytest.raises(ValueError, match="divisible by heads=4"):
        config_from_weights(synthetic_weights(width=6), heads=4)
    with pytest.raises(ValueError, match="registers"):
        config_from_weights({**synthetic_weights(), "embeddings.register_tokens": mx.zeros((1, 4, 6))})


def test_missing_file_names_path_and_env_var(tmp_path):
    missing = tmp_path / "nowhere" / "model.safetensors"
    with pytest.raises(FileNotFoundError, match="JEPABOOK_DINOV2") as err:
        load_dinov2(missing)
    assert str(missing) in str(err.value) and "downloaded" in str(err.value)


def test_missing_key_and_wrong_shape_are_named():
    w = synthetic_weights()
    del w["encoder.layer.0.mlp.fc2.bias"]
    with pytest.raises(ValueError, match=r"missing 1 key.*encoder\.layer\.0\.mlp\.fc2\.bias"):
        load_model(w)
    w = synthetic_weights()
    w["encoder.layer.0.layer_scale2.lambda1"] = mx.zeros((5,))
    with pytest.raises(ValueError, match=r"encoder\.layer\.0\.layer_scale2\.lambda1 has shape \(5,\); expected \(6,\)"):
        load_model(w)
    w = synthetic_weights()
    w["embeddings.patch_embeddings.projection.weight"] = mx.zeros((6, 1, 2, 2))
    with pytest.raises(ValueError, match=r"projection\.weight must have shape \(width, 3, patch, patch\)"):
        load_model(w)


def test_transformers5_names_and_prefix_load_the_same_model(tiny, expected):
    renames = {"attention.attention.query.": "attention.q_proj.", "attention.attention.key.": "attention.k_proj.",
               "attention.attention.value.": "attention.v_proj.", "attention.output.dense.": "attention.o_proj."}
    renamed = {}
    for key, value in mx.load(str(WEIGHTS)).items():
        for old, new in renames.items():
            key = key.replace(old, new)
        renamed["dinov2." + key] = value
    x = mx.array(expected["input_56"])
    np.testing.assert_array_equal(np.array(model_from_weights(renamed)(x)), np.array(tiny(x)))


def test_pixels_must_fit_the_patch_grid(tiny):
    with pytest.raises(ValueError, match="multiples of the patch size 14"):
        tiny(mx.zeros((1, 50, 56, 3)))
    with pytest.raises(ValueError, match=r"\(batch, H, W, 3\)"):
        tiny(mx.zeros((1, 56, 56)))


# --- the teacher ------------------------------------------------------------------------------------------


def test_teacher_embeds_deterministically_in_any_batching(tiny):
    images = np.random.default_rng(2).random((5, 20, 16, 3)).astype(np.float32)
    teacher = DinoV2Teacher(WEIGHTS, image_size=56, batch_size=2)
    assert teacher.name == "dinov2-small"
    out = teacher.embed(images)
    assert out.shape == (5, 24) and out.dtype == np.float32
    np.testing.assert_array_equal(out, teacher.embed(images))
    np.testing.assert_allclose(out, DinoV2Teacher(WEIGHTS, image_size=56, batch_size=16).embed(images), atol=1e-5)
    # by hand: bilinear resize, ImageNet normalisation, class token
    pixels = np.einsum("oh,nhwc,pw->nopc", resize_matrix(20, 56, "bilinear"), images,
                       resize_matrix(16, 56, "bilinear"))
    pixels = (pixels - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(out, np.array(tiny.cls(mx.array(pixels.astype(np.float32)))), atol=1e-4)
    assert teacher.embed(images[:0]).shape == (0, 24)


def test_teacher_fingerprint_tracks_file_bytes_and_image_size(tmp_path):
    copy = tmp_path / "model.safetensors"
    shutil.copy(WEIGHTS, copy)
    first = DinoV2Teacher(copy, image_size=56).fingerprint()
    assert len(first) == 64 and first == DinoV2Teacher(copy, image_size=56).fingerprint()
    assert DinoV2Teacher(copy, image_size=112).fingerprint() != first
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0x01  # flip one bit of the last stored weight
    copy.write_bytes(bytes(data))
    assert DinoV2Teacher(copy, image_size=56).fingerprint() != first


def test_teacher_rejects_bad_settings_and_images():
    with pytest.raises(ValueError, match="image_size must be a positive multiple of the patch size 14"):
        DinoV2Teacher(WEIGHTS, image_size=50)
    with pytest.raises(ValueError, match="batch_size must be"):
        DinoV2Teacher(WEIGHTS, image_size=56, batch_size=0)
    with pytest.raises(ValueError, match=r"images must have shape \(n, H, W, 3\)"):
        DinoV2Teacher(WEIGHTS, image_size=56).embed(np.zeros((2, 20, 20)))
