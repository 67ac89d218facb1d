"""Tests of the procedural 3-D world (jepabook.crossjepa.shapes3d): surfaces, area-uniform sampling, renderer, world."""

import math

import numpy as np
import pytest
from scipy import integrate

from jepabook.crossjepa import shapes3d as S

N_CHECK = 3000


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _binomial_ok(count: int, n: int, p: float, sigmas: float = 4.5) -> bool:
    return abs(count / n - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def _pixel_centres(size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame (x, y) of every pixel centre, row 0 at the top."""
    c = (np.arange(size) + 0.5) / size * 2 * S.EXTENT - S.EXTENT
    x, y = np.meshgrid(c, -c)
    return x, y


@pytest.fixture(scope="module")
def small_world() -> S.World:
    return S.make_world(2, n_points=64, n_views=2, size=16, seed=3, dense_points=400)


# --- surfaces -----------------------------------------------------------------------------------


@pytest.mark.parametrize("label", range(len(S.CLASSES)))
def test_points_on_surface_with_unit_outward_normals(label):
    rng = _rng(label)
    params = S.sample_params(label, rng)
    pts, nrm = S.surface_points(label, params, N_CHECK, rng)
    assert pts.shape == nrm.shape == (N_CHECK, 3) and pts.dtype == nrm.dtype == np.float32
    assert S.surface_residual(label, params, pts).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-5)
    p, n = pts.astype(np.float64), nrm.astype(np.float64)
    # a step along the normal leaves the surface by exactly the step (flat) or nearly (curved)
    np.testing.assert_allclose(S.surface_residual(label, params, p + 0.01 * n), 0.01, atol=1.5e-3)
    # outward: every class but the torus is convex around the origin, so p·n > 0; the torus's
    # normals point away from its core circle
    if S.CLASSES[label] == "torus":
        core = p * np.array([1.0, 1.0, 0.0])
        core *= params[0] / S._scale("torus", params) / np.linalg.norm(core, axis=1, keepdims=True)
        assert np.all(np.sum((p - core) * n, axis=1) > 0)
    else:
        assert np.all(np.sum(p * n, axis=1) > 0)


@pytest.mark.parametrize("label", range(len(S.CLASSES)))
def test_normalised_to_unit_radius_and_centred(label):
    rng = _rng(10 + label)
    params = S.sample_params(label, rng)
    pts = S.surface_points(label, params, 6000, rng)[0]
    radius = np.linalg.norm(pts, axis=1)
    assert radius.max() <= 1 + 1e-6
    assert radius.max() > 0.95
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    np.testing.assert_allclose(centre, 0.0, atol=0.03)


def test_sample_params_ranges_and_torus_ratio():
    rng = _rng(1)
    for label, name in enumerate(S.CLASSES):
        p = np.array([S.sample_params(label, rng) for _ in range(200)])
        assert p.shape[1] == len(S.PARAM_RANGES[name])
        if name == "torus":
            ratio = p[:, 1] / p[:, 0]
            assert ratio.min() >= 0.2 and ratio.max() <= 0.5 and np.ptp(ratio) > 0.2
        else:
            low, high = np.array(S.PARAM_RANGES[name]).T
            assert np.all(p >= low) and np.all(p <= high)


# --- area-uniform sampling: closed forms ---------------------------------------------------------


def test_sphere_heights_uniform():
    # Archimedes: on the unit sphere, z is uniform on [−1, 1] (mean 0, variance 1/3)
    n = 20000
    z = S.surface_points(0, np.ones(3), n, _rng(2))[0][:, 2].astype(np.float64)
    assert abs(z.mean()) < 4.5 * math.sqrt(1 / 3 / n)
    assert abs(z.var() - 1 / 3) < 0.015
    counts = np.histogram(z, bins=10, range=(-1, 1))[0]
    assert all(_binomial_ok(c, n, 0.1) for c in counts)


def test_spheroid_band_matches_surface_of_revolution_integral():
    a, c = 1.0, 0.5  # oblate spheroid x²+y² + (z/c)² = 1 (raw units; normalised scale is a = 1)
    n = 20000
    z = S.surface_points(0, np.array([a, a, c]), n, _rng(3))[0][:, 2]

    def ring(t):  # area element of the band at height t: 2πρ·√(1 + ρ′²)
        rho = a * math.sqrt(1 - (t / c) ** 2)
        drho = -a * t / (c**2 * math.sqrt(1 - (t / c) ** 2))
        return 2 * math.pi * rho * math.sqrt(1 + drho**2)

    band = integrate.quad(ring, -c / 2, c / 2)[0]
    total = 2 * integrate.quad(ring, 0, c, limit=200)[0]
    assert _binomial_ok(int(np.sum(np.abs(z) < c / 2)), n, band / total)


def test_box_faces_proportional_to_area():
    sides = np.array([1.0, 0.5, 0.4])
    n = 20000
    pts = S.surface_points(1, sides, n, _rng(4))[0]
    half = sides / 2 / S._scale("box", sides)
    on_face = np.abs(np.abs(pts) - half) < 1e-5  # (n, 3): which axis each point's face is normal to
    area = np.array([sides[1] * sides[2], sides[0] * sides[2], sides[0] * sides[1]])
    for axis in range(3):
        for sign in (1, -1):
            count = int(np.sum(on_face[:, axis] & (np.sign(pts[:, axis]) == sign)))
            assert _binomial_ok(count, n, area[axis] / (2 * area.sum()))


def test_cylinder_cap_fraction():
    r, h = 0.3, 1.2
    n = 20000
    nrm = S.surface_points(2, np.array([r, h]), n, _rng(5))[1]
    caps = int(np.sum(np.abs(nrm[:, 2]) > 0.5))
    assert _binomial_ok(caps, n, r / (r + h))  # 2πr² / (2πr² + 2πrh)


def test_cone_base_fraction_and_side_density():
    r, h = 0.5, 1.0
    slant = math.hypot(r, h)
    n = 20000
    pts, nrm = S.surface_points(3, np.array([r, h]), n, _rng(7))
    base = nrm[:, 2] < -0.99
    assert _binomial_ok(int(base.sum()), n, r / (r + slant))  # πr² / (πr² + πrL)
    # on the side, the fraction s of the way from apex to rim has density 2s: mean 2/3
    scale = S._scale("cone", np.array([r, h]))
    s = (h / 2 - pts[~base, 2] * scale) / h
    assert abs(s.mean() - 2 / 3) < 4.5 * math.sqrt(1 / 18 / (~base).sum())


def test_torus_area_element():
    big, small = 0.8, 0.3
    n = 20000
    pts, nrm = S.surface_points(4, np.array([big, small]), n, _rng(8))
    # the tube angle v has density ∝ R + r cos v, so E[cos v] = r / (2R); cos v = normal · radial direction
    radial = pts[:, :2] / np.linalg.norm(pts[:, :2], axis=1, keepdims=True)
    cos_v = np.sum(nrm[:, :2].astype(np.float64) * radial, axis=1)
    assert abs(cos_v.mean() - small / (2 * big)) < 4.5 * math.sqrt(0.5 / n)
    assert abs(cos_v.mean()) > 0.1  # far from the 0 of a sampler that ignores the area element


def test_pyramid_capsule_octahedron_patch_fractions():
    n = 20000
    b, h = 1.0, 0.8
    nrm = S.surface_points(5, np.array([b, h]), n, _rng(9))[1]
    slant = math.hypot(h, b / 2)
    assert _binomial_ok(int(np.sum(nrm[:, 2] < -0.99)), n, b * b / (b * b + 2 * b * slant))
    r, length = 0.3, 1.0
    pts, nrm = S.surface_points(6, np.array([r, length]), n, _rng(10))
    ends = np.abs(nrm[:, 2]) > 1e-6
    assert _binomial_ok(int(ends.sum()), n, 2 * r / (2 * r + length))  # 4πr² / (4πr² + 2πrl)
    pts = S.surface_points(7, np.array([1.0, 0.5, 0.7]), n, _rng(11))[0]
    octant = (pts > 0).astype(int) @ np.array([1, 2, 4])
    assert all(_binomial_ok(int(c), n, 1 / 8) for c in np.bincount(octant, minlength=8))


# --- rotations and cameras -----------------------------------------------------------------------


def test_random_rotations_orthonormal_and_uniform():
    rot = S.random_rotations(4000, _rng(12))
    assert rot.shape == (4000, 3, 3)
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
    # Haar measure: the mean rotation is 0, and a rotated fixed axis is uniform on the sphere
    assert np.abs(rot.mean(axis=0)).max() < 0.05
    z = rot[:, :, 2] @ np.array([0.0, 0.0, 1.0])
    assert abs(z.var() - 1 / 3) < 0.03


def test_camera_rotation_conventions():
    front = S.camera_rotation(0.0, 0.0)
    np.testing.assert_allclose(front, [[0, 1, 0], [0, 0, 1], [1, 0, 0]], atol=1e-12)
    side = S.camera_rotation(math.pi / 2, 0.0)
    np.testing.assert_allclose(side @ [-1.0, 0, 0], [1, 0, 0], atol=1e-12)  # world −x is image right
    top = S.camera_rotation(0.3, math.pi / 2)
    np.testing.assert_allclose(top[2], [0, 0, 1], atol=1e-12)
    for a, e in [(0.1, 0.2), (4.0, -1.0)]:
        r = S.camera_rotation(a, e)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)


# --- rendering -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sphere_sample():
    return S.surface_points(0, np.ones(3), 4000, _rng(13))


def test_render_deterministic_range_background(sphere_sample):
    pts, nrm = sphere_sample
    colour = S.hsv_colour(0.3)
    a = S.render(pts, nrm, colour, 0.7, 0.4)
    b = S.render(pts.copy(), nrm.copy(), colour.copy(), 0.7, 0.4)
    assert a.shape == (48, 48, 3) and a.dtype == np.float32
    assert a.tobytes() == b.tobytes()
    assert a.min() >= 0 and a.max() <= 1
    x, y = _pixel_centres()
    assert np.all(a[x**2 + y**2 > 1.1**2] == 0)  # background outside the (slightly widened) disc
    assert not np.array_equal(a, S.render(pts, nrm, colour, 0.8, 0.4))


def test_sphere_render_has_no_holes_and_lambert_shading(sphere_sample):
    pts, nrm = sphere_sample
    x, y = _pixel_centres()
    r2 = x**2 + y**2
    normal = np.stack([x, y, np.sqrt(np.clip(1 - r2, 0, None))], axis=-1)
    expected = S.AMBIENT + (1 - S.AMBIENT) * np.maximum(normal @ S.LIGHT, 0.0)
    silhouettes = []
    for azimuth, elevation in [(0.0, 0.0), (2.0, 0.9), (4.5, -1.2)]:
        img = S.render(pts, nrm, np.ones(3), azimuth, elevation)
        grey = img[..., 0]
        assert np.all(grey[r2 < 0.97**2] > 0)  # no holes inside the silhouette
        inner = r2 < 0.9**2
        err = np.abs(grey - expected)[inner]
        assert np.median(err) < 0.04 and np.mean(err > 0.25) < 0.005
        silhouettes.append(int(np.sum(grey > 0)))
    true_area = math.pi / (2 * S.EXTENT / 48) ** 2
    assert all(true_area < s < 1.1 * true_area for s in silhouettes)


def _width(img: np.ndarray) -> int:
    cols = np.nonzero(img.max(axis=(0, 2)) > 0)[0]
    return int(cols.max() - cols.min() + 1)


def test_box_silhouette_width_follows_pose():
    sides = np.array([1.0, 0.4, 0.4])
    pts, nrm = S.surface_points(1, sides, 4000, _rng(14))
    pixel = 2 * S.EXTENT / 48
    scale = S._scale("box", sides)
    w_front = _width(S.render(pts, nrm, np.ones(3), 0.0, 0.0))  # image right = world y
    w_side = _width(S.render(pts, nrm, np.ones(3), math.pi / 2, 0.0))  # image right = world −x
    # a face seen face-on at the outline spills by up to one surfel radius on each side
    spill = 2 * S.splat_radius(4000, 48)
    assert abs(w_front - spill - 0.4 / scale / pixel) <= 2
    assert abs(w_side - spill - 1.0 / scale / pixel) <= 2
    assert (w_side - spill) / (w_front - spill) == pytest.approx(2.5, rel=0.15)


def test_cone_from_above_is_a_disc():
    r, h = 0.6, 1.0
    pts, nrm = S.surface_points(3, np.array([r, h]), 4000, _rng(15))
    img = S.render(pts, nrm, np.ones(3), 0.4, math.pi / 2)
    x, y = _pixel_centres()
    radius = r / S._scale("cone", np.array([r, h]))
    rho = np.hypot(x, y)
    pixel = 2 * S.EXTENT / 48
    mask = img[..., 0] > 0
    assert np.all(mask[rho < radius - pixel])
    assert not np.any(mask[rho > radius + (S.splat_radius(4000, 48) + 1) * pixel])
    ring = (rho > radius - pixel) & (rho < radius + S.splat_radius(4000, 48) * pixel)
    angle = np.arctan2(y, x)[ring & mask]
    assert np.all(np.histogram(angle, bins=8, range=(-math.pi, math.pi))[0] > 0)  # round, all the way
    # the apex points at the viewer: the centre is lit and covered
    assert mask[23:25, 23:25].all()


def test_render_bad_inputs(sphere_sample):
    pts, nrm = sphere_sample
    with pytest.raises(ValueError, match="colour"):
        S.render(pts, nrm, [1.0, 2.0, 0.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="normals"):
        S.render(pts, nrm[:10], np.ones(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="elevation"):
        S.render(pts, nrm, np.ones(3), 0.0, 2.0)
    with pytest.raises(ValueError, match="size"):
        S.render(pts, nrm, np.ones(3), 0.0, 0.0, size=0)
    with pytest.raises(ValueError, match="points"):
        S.render(pts[:, :2], nrm, np.ones(3), 0.0, 0.0)


# --- colour and side inputs ----------------------------------------------------------------------


def test_hsv_colour_known_values():
    np.testing.assert_allclose(S.hsv_colour(0.0, 1.0, 1.0), [1, 0, 0])
    np.testing.assert_allclose(S.hsv_colour(1 / 3, 1.0, 1.0), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(S.hsv_colour(2 / 3, 0.5, 0.8), [0.4, 0.4, 0.8], atol=1e-12)
    np.testing.assert_allclose(S.hsv_colour(1.25), S.hsv_colour(0.25))
    with pytest.raises(ValueError, match="saturation"):
        S.hsv_colour(0.1, saturation=1.5)


def test_colour_histogram_spikes_at_hue_and_sums_to_one():
    hues = np.array([0.0, 0.125, 0.5, 0.97])
    images = np.zeros((4, 6, 6, 3), dtype=np.float32)
    for i, h in enumerate(hues):
        images[i, 1:4, 1:5] = 0.6 * S.hsv_colour(h)  # shading scales the colour, hue unchanged
    hist = S.colour_histogram(images)
    assert hist.shape == (4, 8)
    np.testing.assert_allclose(hist.sum(axis=1), 1.0)
    assert hist.argmax(axis=1).tolist() == [0, 1, 4, 0]  # bins centred on k/8; 0.97 wraps to bin 0
    assert np.all(hist.max(axis=1) == 1.0)
    np.testing.assert_array_equal(S.colour_histogram(np.zeros((2, 3, 5, 5, 3))), np.zeros((2, 3, 8)))
    with pytest.raises(ValueError, match="bins"):
        S.colour_histogram(images, bins=0)


def test_pose_features_closed_form():
    poses = np.array([[[0.0, 0.0], [math.pi / 2, -math.pi / 6]]])
    feats = S.pose_features(poses)
    assert feats.shape == (1, 2, 4)
    np.testing.assert_allclose(feats[0], [[0, 1, 0, 1], [1, 0, -0.5, math.sqrt(3) / 2]], atol=1e-12)
    with pytest.raises(ValueError, match="poses"):
        S.pose_features(np.zeros((3, 3)))


def _hue_gap(hues: np.ndarray, labels: np.ndarray) -> np.ndarray:
    d = np.abs(hues - labels / len(S.CLASSES)) % 1.0
    return np.minimum(d, 1 - d)


def test_colour_bias_controls_hue_class_link():
    kw = dict(n_points=4, n_views=1, size=8, dense_points=16, seed=5)
    free = S.make_world(48, colour_bias=0.0, **kw)
    tied = S.make_world(48, colour_bias=1.0, **kw)
    # the same objects: colour_bias changes only colours (and renders)
    assert all(np.array_equal(a, b) for a, b in zip(free.params, tied.params))
    np.testing.assert_array_equal(free.clouds, tied.clouds)
    assert _hue_gap(tied.hues, tied.labels).max() <= 0.03 + 1e-12
    assert np.all((free.hues >= 0) & (free.hues < 1))
    per_class = np.array([free.hues[free.labels == k].mean() for k in range(len(S.CLASSES))])
    assert np.all(np.abs(per_class - 0.5) < 0.17)  # 4σ for 48 uniform hues
    assert np.mean(_hue_gap(free.hues, free.labels) <= 0.03) < 0.15  # 0.06 expected
    np.testing.assert_allclose(tied.colours, [S.hsv_colour(h) for h in tied.hues])
    # renders carry the hue: their histograms peak at the class bin when colour_bias = 1
    assert np.array_equal(S.colour_histogram(tied.renders[:, 0]).argmax(axis=1), tied.labels)


# --- the world -----------------------------------------------------------------------------------


def test_world_shapes_and_geometry(small_world):
    w = small_world
    n = 2 * len(S.CLASSES)
    assert w.labels.tolist() == np.repeat(np.arange(len(S.CLASSES)), 2).tolist()  # class-major
    assert w.clouds.shape == (n, 64, 3) and w.clouds.dtype == np.float32
    assert w.renders.shape == (n, 2, 16, 16, 3) and w.renders.dtype == np.float32
    assert w.poses.shape == (n, 2, 2) and len(w.params) == n and w.colours.shape == (n, 3)
    assert np.all((w.poses[..., 0] >= 0) & (w.poses[..., 0] < 2 * math.pi))
    assert np.all(np.abs(w.poses[..., 1]) <= math.pi / 3)
    np.testing.assert_allclose(np.linalg.det(w.rotations), 1.0, atol=1e-12)
    for i in range(n):
        canonical = w.clouds[i].astype(np.float64) @ w.rotations[i]  # undo the rotation
        assert S.surface_residual(int(w.labels[i]), w.params[i], canonical).max() < 1e-4
        assert np.max(np.linalg.norm(w.clouds[i], axis=1)) <= 1 + 1e-5
    assert np.all(w.renders.reshape(n * 2, -1).max(axis=1) > 0)


def test_world_deterministic_and_streams_independent(small_world):
    again = S.make_world(2, n_points=64, n_views=2, size=16, seed=3, dense_points=400)
    assert again.fingerprint() == small_world.fingerprint()
    other_seed = S.make_world(2, n_points=64, n_views=2, size=16, seed=4, dense_points=400)
    assert other_seed.fingerprint() != again.fingerprint()
    more_views = S.make_world(2, n_points=64, n_views=3, size=16, seed=3, dense_points=400)
    np.testing.assert_array_equal(more_views.clouds, again.clouds)
    np.testing.assert_array_equal(more_views.poses[:, :2], again.poses)
    np.testing.assert_array_equal(more_views.renders[:, :2], again.renders)
    bigger = S.make_world(3, n_points=64, n_views=2, size=16, seed=3, dense_points=400)
    first_two = np.tile([True, True, False], len(S.CLASSES))
    np.testing.assert_array_equal(bigger.clouds[first_two], again.clouds)
    np.testing.assert_array_equal(bigger.hues[first_two], again.hues)


def test_fingerprint_sees_one_pixel_and_one_point(small_world):
    w = small_world
    base = w.fingerprint()
    renders = w.renders.copy()
    renders[5, 1, 7, 7, 2] += 0.01
    assert S.World(**{**vars(w), "renders": renders}).fingerprint() != base
    clouds = w.clouds.copy()
    clouds[3, 10, 0] = np.nextafter(clouds[3, 10, 0], np.float32(2))
    assert S.World(**{**vars(w), "clouds": clouds}).fingerprint() != base
    params = list(w.params)
    params[0] = params[0] * 1.0001
    assert S.World(**{**vars(w), "params": tuple(params)}).fingerprint() != base
    assert S.World(**vars(w)).fingerprint() == base


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_per_class=0), "n_per_class"),
        (dict(n_per_class=1.5), "n_per_class"),
        (dict(n_per_class=1, n_points=0), "n_points"),
        (dict(n_per_class=1, n_views=0), "n_views"),
        (dict(n_per_class=1, size=2), "size"),
        (dict(n_per_class=1, seed=-1), "seed"),
        (dict(n_per_class=1, colour_bias=1.5), "colour_bias"),
        (dict(n_per_class=1, dense_points=3), "dense_points"),
    ],
)
def test_make_world_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        S.make_world(**kwargs)


def test_bad_labels_and_params():
    with pytest.raises(ValueError, match="label"):
        S.sample_params(8, _rng())
    with pytest.raises(ValueError, match="label"):
        S.surface_points(True, np.ones(3), 10, _rng())
    with pytest.raises(ValueError, match="params"):
        S.surface_points(1, np.ones(2), 10, _rng())
    with pytest.raises(ValueError, match="torus"):
        S.surface_points(4, np.array([0.5, 0.6]), 10, _rng())
    with pytest.raises(ValueError, match="n must"):
        S.random_rotations(-1, _rng())


def test_world_light_shades_a_camera_facing_surfel_by_the_scene_light():
    # one surfel at the origin whose normal points at the camera: its pixel is ambient + Lambert of
    # the light in the camera frame; with the world light that depends on where the camera stands
    for a, e in [(0.0, 0.0), (math.pi / 2, 0.3), (2.5, -0.7)]:
        rot = S.camera_rotation(a, e)
        towards = rot[2]
        pts, nrm = np.zeros((1, 3)), towards[None]
        img_w = S.render(pts, nrm, np.ones(3), a, e, size=16, splat=1.0, light="world")
        img_c = S.render(pts, nrm, np.ones(3), a, e, size=16, splat=1.0, light="camera")
        want_w = S.AMBIENT + (1 - S.AMBIENT) * max(towards @ S.LIGHT_WORLD, 0.0)
        want_c = S.AMBIENT + (1 - S.AMBIENT) * max(S.LIGHT[2], 0.0)
        assert img_w.max() == pytest.approx(want_w, abs=1e-6)
        assert img_c.max() == pytest.approx(want_c, abs=1e-6)
    with pytest.raises(ValueError, match="light must be one of"):
        S.render(pts, nrm, np.ones(3), 0.0, 0.0, light="sun")
