"""A procedural 3-D world of primitive objects, and a small NumPy renderer, for Chapter 4 (CrossJEPA).

Explained in Chapter 4. A point-cloud student learns to predict what a frozen 2-D image model says
about a rendered view of the same object. This module builds that world.

**Objects.** Eight primitive classes (:data:`CLASSES`). Each object has a few intra-class shape
parameters (:func:`sample_params`: axes, sides, radius and height, ...) and a colour. Every surface is
*normalised*: its bounding-box centre sits at the origin and its farthest point is at distance 1, so
size says nothing about the class and only shape (aspect ratios, curvature, edges) does. Solids of
revolution (cylinder, cone, torus, capsule) and the pyramid have their axis along the world ``z``
(up) axis; cone and pyramid point up.

**Surface samples.** :func:`surface_points` draws points uniformly *by area* with their outward unit
normals: a composite surface first picks a patch (a face, a cap, the side) with probability
proportional to its area; a curved patch is then sampled area-uniformly, by rejection on the area
element (ellipsoid, torus) or by the exact inverse CDF (cone side, discs: radius ∝ √u).
:func:`surface_residual` is each point's distance from the same normalised surface (exact for the
box, the solids of revolution and the torus; for the ellipsoid the first-order distance |F|/‖∇F‖;
for the pyramid and octahedron the largest signed plane distance, exact inside and on the faces).

**Rendering.** :func:`render` is an orthographic point-splatting renderer. The camera
(:func:`camera_rotation`) looks at the origin from ``azimuth`` (about world ``z``) and
``elevation`` (above the x–y plane); camera x is image right, y is image up, z points to the viewer.
World coordinates in [−1.1, 1.1] fill the image, row 0 at the top. Each point of a dense surface
sample is drawn as a small flat disc in its tangent plane (a *surfel*; radius :func:`splat_radius`:
2.3 pixels for 4000 points at 48×48, scaled with the point spacing), and a z-buffer keeps the
nearest surfel per pixel. So a closed surface shows no holes, a back surface almost never shows
through a gap, and where two faces meet the nearer one wins pixel by pixel (straight edges).
Shading is Lambert from a light fixed in the camera frame (:data:`LIGHT`: upper left, in front)
plus ambient light :data:`AMBIENT`, times the object's RGB colour; the background is 0. Lighting is
two-sided: a normal that faces away from the camera is flipped towards it before shading. The price
of surfels: no antialiasing; an outline made by a face seen face-on grows by up to one surfel
radius (a curved outline, seen edge-on, by under a pixel); and a face seen nearly edge-on, or
running into a nearer face, can show as a one-pixel line along an edge.

**The world.** :func:`make_world` draws objects class-major (all of class 0, then class 1, ...),
each from its own random streams keyed by ``(seed, class, index within class, purpose)``. So an
object does not change when ``n_per_class``, ``n_views``, ``n_points`` or ``dense_points`` change,
except for the arrays those arguments size. The student sees ``clouds``: an area-uniform sample
turned by a uniformly random rotation. The teacher sees ``renders`` of the *canonical* (unrotated)
object from random camera poses, so the pose is information only the target has. With probability
``colour_bias`` an object takes its class's hue (class k → k/8, ±0.03); otherwise its hue is
uniform, so colour is only weakly tied to the class. :func:`colour_histogram` and
:func:`pose_features` are the side inputs that let the chapter ask how much of the teacher's
embedding is colour or pose rather than shape.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from jepabook.core import streams

__all__ = [
    "AMBIENT",
    "CLASSES",
    "EXTENT",
    "LIGHT",
    "LIGHT_FRAMES",
    "LIGHT_WORLD",
    "PARAM_RANGES",
    "SPLAT_RADIUS",
    "World",
    "camera_rotation",
    "colour_histogram",
    "hsv_colour",
    "make_world",
    "pose_features",
    "random_rotations",
    "render",
    "sample_params",
    "splat_radius",
    "surface_points",
    "surface_residual",
]

CLASSES: tuple[str, ...] = ("ellipsoid", "box", "cylinder", "cone", "torus", "pyramid", "capsule", "octahedron")

#: Ranges of the shape parameters per class, before normalisation. The torus stores ``(R, r)`` but
#: draws ``R`` and the ratio ``r/R`` (second range) independently.
PARAM_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    "ellipsoid": ((0.5, 1.0),) * 3,  # semi-axes a, b, c
    "box": ((0.4, 1.0),) * 3,  # side lengths along x, y, z
    "cylinder": ((0.25, 0.6), (0.4, 1.4)),  # radius, height
    "cone": ((0.3, 0.7), (0.5, 1.5)),  # base radius, height
    "torus": ((0.5, 1.0), (0.2, 0.5)),  # major radius R, ratio r/R
    "pyramid": ((0.5, 1.2), (0.4, 1.2)),  # square base side, height
    "capsule": ((0.2, 0.5), (0.3, 1.2)),  # radius, length of the straight part
    "octahedron": ((0.5, 1.0),) * 3,  # half-lengths of the three axes
}

EXTENT = 1.1  #: world coordinates in [−EXTENT, EXTENT] fill the image
AMBIENT = 0.3  #: ambient share of the shading; the Lambert term supplies the rest
LIGHT = np.array([-1.0, 1.0, 2.0]) / math.sqrt(6.0)  #: light direction in the camera frame
#: light direction in the world frame (``light="world"``): from +x and above, fixed in the scene, so
#: the shading of a view moves with the camera even for an object symmetric about its axis
LIGHT_WORLD = np.array([1.0, 0.0, 1.0]) / math.sqrt(2.0)
LIGHT_FRAMES = ("camera", "world")
SPLAT_RADIUS = 2.3  #: surfel radius in pixels for a 4000-point sample at 48×48 (see splat_radius)

_HUE_JITTER = 0.03
_SATURATION, _VALUE = 0.75, 0.9
_MAX_ELEVATION = math.pi / 3


# --- argument checks -----------------------------------------------------------------------------


def _check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(CLASSES):
        raise ValueError(f"label must be an integer in 0..{len(CLASSES) - 1} (an index into CLASSES); got {label!r}")
    return int(label)


def _check_int(name: str, value: int, low: int, high: int | None = None) -> int:
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= low
    if not ok or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} must be an integer {allowed}; got {value!r}")
    return int(value)


def _check_float(name: str, value: float, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a finite number in [{low}, {high}]; got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a finite number in [{low}, {high}]; got {value!r}")
    return float(value)


def _check_params(label: int, params: np.ndarray) -> np.ndarray:
    name = CLASSES[label]
    p = np.asarray(params, dtype=np.float64)
    want = len(PARAM_RANGES[name])
    if p.shape != (want,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(f"params for a {name} must be {want} finite positive numbers; got {params!r}")
    if name == "torus" and p[1] >= p[0]:
        raise ValueError(f"params for a torus are (R, r) with 0 < r < R; got {params!r}")
    return p


def _check_cloud(name: str, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite with shape (n, 3); got shape {p.shape}")
    return p


# --- shape parameters ----------------------------------------------------------------------------


def sample_params(label: int, rng: np.random.Generator) -> np.ndarray:
    """Intra-class shape parameters of one object of class ``label`` (see :data:`PARAM_RANGES`)."""
    name = CLASSES[_check_label(label)]
    low, high = np.array(PARAM_RANGES[name]).T
    p = rng.uniform(low, high)
    if name == "torus":
        p[1] *= p[0]  # (R, ratio) -> (R, r)
    return p


def _scale(name: str, p: np.ndarray) -> float:
    """Largest distance of the raw (centred, unnormalised) surface from the origin."""
    if name in ("ellipsoid", "octahedron"):
        return float(p.max())
    if name == "box":
        return float(0.5 * np.linalg.norm(p))
    if name in ("cylinder", "cone"):  # rim of the top or base circle
        return math.hypot(p[0], p[1] / 2)
    if name == "torus":
        return float(p[0] + p[1])
    if name == "pyramid":  # base corners
        return math.sqrt(p[0] ** 2 / 2 + p[1] ** 2 / 4)
    return float(p[1] / 2 + p[0])  # capsule


# --- area-uniform samplers of the raw surfaces ---------------------------------------------------


def _unit_sphere(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _disc(n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``(n, 2)`` uniform in a disc: radius ∝ √u is the exact inverse CDF of the area."""
    rho = radius * np.sqrt(rng.random(n))
    theta = rng.uniform(0.0, 2 * math.pi, n)
    return np.stack([rho * np.cos(theta), rho * np.sin(theta)], axis=1)


def _triangle(n: int, a: np.ndarray, b: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3)`` uniform in triangle abc (fold the unit square onto the lower-left half)."""
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def _rejection(n: int, propose, rng: np.random.Generator, rate: float):
    """Collect ``n`` accepted proposals; ``propose(m)`` returns (points, normals, accept mask)."""
    pts, nrm, got = [], [], 0
    while got < n:
        m = int((n - got) / rate * 1.1) + 16
        p, q, keep = propose(m)
        pts.append(p[keep])
        nrm.append(q[keep])
        got += int(keep.sum())
    return np.concatenate(pts)[:n], np.concatenate(nrm)[:n]


def _ellipsoid(p, n, rng):
    a = p

    def propose(m):
        u = _unit_sphere(m, rng)
        # area element of the map u -> a*u on the unit sphere: |(bc u_x, ac u_y, ab u_z)|
        cof = np.array([a[1] * a[2], a[0] * a[2], a[0] * a[1]])
        dens = np.linalg.norm(u * cof, axis=1)
        normal = u / a
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        return u * a, normal, rng.random(m) * cof.max() < dens

    return _rejection(n, propose, rng, rate=a.min() / a.max())


def _torus(p, n, rng):
    big, small = p

    def propose(m):
        u, v = rng.uniform(0.0, 2 * math.pi, (2, m))
        ring = big + small * np.cos(v)  # area element ∝ R + r cos v
        pts = np.stack([ring * np.cos(u), ring * np.sin(u), small * np.sin(v)], axis=1)
        normal = np.stack([np.cos(v) * np.cos(u), np.cos(v) * np.sin(u), np.sin(v)], axis=1)
        return pts, normal, rng.random(m) * (big + small) < ring

    return _rejection(n, propose, rng, rate=(big - small) / (big + small))


def _patches(areas: list[float], n: int, rng: np.random.Generator) -> list[int]:
    """Counts per patch for ``n`` points, patch chosen with probability ∝ area."""
    a = np.asarray(areas, dtype=np.float64)
    return rng.multinomial(n, a / a.sum()).tolist()


def _box(p, n, rng):
    areas = [p[1] * p[2], p[1] * p[2], p[0] * p[2], p[0] * p[2], p[0] * p[1], p[0] * p[1]]
    pts, nrm = [], []
    for face, k in enumerate(_patches(areas, n, rng)):
        axis, sign = face // 2, 1.0 - 2.0 * (face % 2)
        q = (rng.random((k, 3)) - 0.5) * p
        q[:, axis] = sign * p[axis] / 2
        normal = np.zeros((k, 3))
        normal[:, axis] = sign
        pts.append(q)
        nrm.append(normal)
    return np.concatenate(pts), np.concatenate(nrm)


def _cap(k: int, radius: float, z: float, rng) -> tuple[np.ndarray, np.ndarray]:
    xy = _disc(k, radius, rng)
    pts = np.column_stack([xy, np.full(k, z)])
    normal = np.zeros((k, 3))
    normal[:, 2] = math.copysign(1.0, z)
    return pts, normal


def _cylinder(p, n, rng):
    r, h = p
    k_side, k_top, k_bottom = _patches([2 * math.pi * r * h, math.pi * r**2, math.pi * r**2], n, rng)
    theta = rng.uniform(0.0, 2 * math.pi, k_side)
    ring = np.stack([np.cos(theta), np.sin(theta), np.zeros(k_side)], axis=1)
    side = ring * r
    side[:, 2] = rng.uniform(-h / 2, h / 2, k_side)
    top, bottom = _cap(k_top, r, h / 2, rng), _cap(k_bottom, r, -h / 2, rng)
    return np.concatenate([side, top[0], bottom[0]]), np.concatenate([ring, top[1], bottom[1]])


def _cone(p, n, rng):
    r, h = p
    slant = math.hypot(r, h)
    k_side, k_base = _patches([math.pi * r * slant, math.pi * r**2], n, rng)
    s = np.sqrt(rng.random(k_side))  # fraction of the way from apex to rim; area ∝ s ds
    theta = rng.uniform(0.0, 2 * math.pi, k_side)
    c, si = np.cos(theta), np.sin(theta)
    side = np.stack([r * s * c, r * s * si, h / 2 - h * s], axis=1)
    normal = np.stack([h * c, h * si, np.full(k_side, r)], axis=1) / slant
    base = _cap(k_base, r, -h / 2, rng)
    return np.concatenate([side, base[0]]), np.concatenate([normal, base[1]])


def _rotz(k: int) -> np.ndarray:
    """Rotation by k quarter turns about z."""
    c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][k % 4]
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _pyramid(p, n, rng):
    b, h = p
    slant = math.hypot(h, b / 2)  # height of a triangular face
    counts = _patches([b * b] + [b * slant / 2] * 4, n, rng)
    xy = (rng.random((counts[0], 2)) - 0.5) * b
    pts = [np.column_stack([xy, np.full(counts[0], -h / 2)])]
    nrm = [np.tile([0.0, 0.0, -1.0], (counts[0], 1))]
    apex = np.array([0.0, 0.0, h / 2])
    left, right = np.array([b / 2, -b / 2, -h / 2]), np.array([b / 2, b / 2, -h / 2])
    face_normal = np.array([h, 0.0, b / 2]) / slant
    for k, m in enumerate(counts[1:]):  # the +x face, turned by k quarter turns
        rot = _rotz(k)
        pts.append(_triangle(m, left, right, apex, rng) @ rot.T)
        nrm.append(np.tile(rot @ face_normal, (m, 1)))
    return np.concatenate(pts), np.concatenate(nrm)


def _capsule(p, n, rng):
    r, length = p
    k_side, k_ends = _patches([2 * math.pi * r * length, 4 * math.pi * r**2], n, rng)
    theta = rng.uniform(0.0, 2 * math.pi, k_side)
    ring = np.stack([np.cos(theta), np.sin(theta), np.zeros(k_side)], axis=1)
    side = ring * r
    side[:, 2] = rng.uniform(-length / 2, length / 2, k_side)
    u = _unit_sphere(k_ends, rng)  # the two hemispheres together make one sphere
    ends = r * u
    ends[:, 2] += np.sign(u[:, 2]) * length / 2
    return np.concatenate([side, ends]), np.concatenate([ring, u])


def _octahedron(p, n, rng):
    signs = 1.0 - 2.0 * rng.integers(0, 2, (n, 3))  # 8 congruent faces, equally likely
    axes = np.diag(p)
    pts = _triangle(n, axes[0], axes[1], axes[2], rng) * signs
    normal = signs / p
    return pts, normal / np.linalg.norm(normal, axis=1, keepdims=True)


_SAMPLERS = {
    "ellipsoid": _ellipsoid,
    "box": _box,
    "cylinder": _cylinder,
    "cone": _cone,
    "torus": _torus,
    "pyramid": _pyramid,
    "capsule": _capsule,
    "octahedron": _octahedron,
}


def surface_points(label: int, params: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` area-uniform points on the normalised surface and their outward unit normals, float32 ``(n, 3)`` each.

    Points come in random order (patches are interleaved), so any prefix is itself area-uniform.
    """
    label = _check_label(label)
    p = _check_params(label, params)
    n = _check_int("n", n, 1)
    name = CLASSES[label]
    pts, nrm = _SAMPLERS[name](p, n, rng)
    order = rng.permutation(n)
    return (pts[order] / _scale(name, p)).astype(np.float32), nrm[order].astype(np.float32)


# --- distance from the surface -------------------------------------------------------------------


def _segment_distance(q: np.ndarray, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Distance of 2-D points ``q`` ``(n, 2)`` from the segment ab."""
    a, b = np.asarray(a), np.asarray(b)
    t = np.clip((q - a) @ (b - a) / max(float((b - a) @ (b - a)), 1e-300), 0.0, 1.0)
    return np.linalg.norm(q - a - t[:, None] * (b - a), axis=1)


def _profile_distance(x: np.ndarray, profile: list[tuple[float, float]]) -> np.ndarray:
    """Distance from a surface of revolution about z whose meridian is the polyline ``profile`` in (ρ, z)."""
    q = np.column_stack([np.hypot(x[:, 0], x[:, 1]), x[:, 2]])
    return np.min([_segment_distance(q, a, b) for a, b in zip(profile[:-1], profile[1:])], axis=0)


def _plane_residual(x: np.ndarray, normals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """|max_i (n_i·x − d_i)| for a convex polytope: zero on the surface, the distance inside."""
    return np.abs(np.max(x @ normals.T - offsets, axis=1))


def _raw_residual(name: str, p: np.ndarray, x: np.ndarray) -> np.ndarray:
    if name == "ellipsoid":
        f = np.sum((x / p) ** 2, axis=1) - 1.0
        grad = np.linalg.norm(2 * x / p**2, axis=1)
        return np.abs(f) / np.maximum(grad, 1e-12)
    if name == "box":
        q = np.abs(x) - p / 2
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        return np.abs(outside + np.minimum(q.max(axis=1), 0.0))
    if name == "cylinder":
        r, h = p
        return _profile_distance(x, [(0, h / 2), (r, h / 2), (r, -h / 2), (0, -h / 2)])
    if name == "cone":
        r, h = p
        return _profile_distance(x, [(0, h / 2), (r, -h / 2), (0, -h / 2)])
    if name == "torus":
        return np.abs(np.hypot(np.hypot(x[:, 0], x[:, 1]) - p[0], x[:, 2]) - p[1])
    if name == "capsule":
        r, length = p
        return np.abs(_profile_distance(x, [(0, -length / 2), (0, length / 2)]) - r)
    if name == "pyramid":
        b, h = p
        slant = math.hypot(h, b / 2)
        sides = np.array([_rotz(k) @ [h, 0.0, b / 2] for k in range(4)]) / slant
        normals = np.vstack([[0.0, 0.0, -1.0], sides])
        offsets = np.array([h / 2] + [h * b / (4 * slant)] * 4)
        return _plane_residual(x, normals, offsets)
    # octahedron: Σ|x_i|/a_i = 1, divided by the norm of its gradient
    inv = 1.0 / p
    return np.abs(np.abs(x) @ inv - 1.0) / np.linalg.norm(inv)


def surface_residual(label: int, params: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(n,)`` distance of each point from the normalised surface (see the module docstring); ≈0 on it."""
    label = _check_label(label)
    p = _check_params(label, params)
    name = CLASSES[label]
    s = _scale(name, p)
    return _raw_residual(name, p, _check_cloud("points", points) * s) / s


# --- rotations and cameras -----------------------------------------------------------------------


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3, 3)`` rotations drawn uniformly (Haar) on SO(3), from uniform unit quaternions."""
    n = _check_int("n", n, 0)
    q = rng.standard_normal((n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def camera_rotation(azimuth: float, elevation: float) -> np.ndarray:
    """``(3, 3)`` world → camera rotation; its rows are camera right, up and towards-viewer in world axes.

    The viewer sits in direction ``(cos e cos a, cos e sin a, sin e)``: azimuth 0 looks along −x
    with world +y to the right; azimuth π/2 looks along −y with world −x to the right.
    """
    a = _check_float("azimuth", azimuth)
    e = _check_float("elevation", elevation, -math.pi / 2, math.pi / 2)
    towards = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    right = np.array([-math.sin(a), math.cos(a), 0.0])
    return np.stack([right, np.cross(towards, right), towards])


# --- rendering -----------------------------------------------------------------------------------


def splat_radius(n_points: int, size: int) -> float:
    """Default surfel radius in pixels: :data:`SPLAT_RADIUS` at 4000 points and 48×48, scaled with the point spacing.

    The mean spacing of an area-uniform sample shrinks like 1/√n while a pixel shrinks like 1/size,
    so the surfels keep covering the surface at any density: ``SPLAT_RADIUS · (size/48) · √(4000/n)``.
    """
    n_points, size = _check_int("n_points", n_points, 1), _check_int("size", size, 1)
    return SPLAT_RADIUS * (size / 48) * math.sqrt(4000 / n_points)


def _footprint(radius: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixel offsets ``(dy, dx)`` within ``radius`` of the centre pixel, and their half-width."""
    k = int(math.floor(radius))
    dy, dx = np.mgrid[-k : k + 1, -k : k + 1]
    keep = dy**2 + dx**2 <= radius**2
    return dy[keep], dx[keep], k


def _shade(normals_cam: np.ndarray, light: np.ndarray = LIGHT) -> np.ndarray:
    """Two-sided Lambert plus ambient: normals are flipped to face the camera first.

    ``light``: ``(3,)`` in the camera frame, or ``(v, 1, 3)`` one per view for ``normals_cam`` ``(v, n, 3)``.
    """
    facing = np.where(normals_cam[..., 2:3] < 0, -normals_cam, normals_cam)
    return AMBIENT + (1.0 - AMBIENT) * np.maximum(np.sum(facing * light, axis=-1), 0.0)


_DEPTH_LEVELS = 1 << 24  # depth quantisation of the z-buffer: 2.2 / 2**24 ≈ 1.3e-7 world units
_MIN_FACING = 0.3  # tangent-plane slopes are capped at √(1 − 0.3²)/0.3 ≈ 3.2 (grazing points)


def _render_views(
    points: np.ndarray, normals: np.ndarray, colour: np.ndarray, poses: np.ndarray, size: int, radius: float,
    light: str = "camera",
) -> np.ndarray:
    """``(v, size, size, 3)`` float32 renders of one object from ``poses`` ``(v, 2)``; arguments pre-checked.

    ``light``: ``"camera"`` (:data:`LIGHT`, fixed relative to the camera, so every view of a
    symmetric object is lit alike) or ``"world"`` (:data:`LIGHT_WORLD`, fixed in the scene).

    Each point is a flat disc (a *surfel*) of ``radius`` pixels in its tangent plane: it covers the
    pixels whose centre, lifted onto that plane, lies within the disc, at the plane's depth there.
    So where two faces meet the nearer face wins pixel by pixel and edges come out straight, and a
    tilted surfel covers a narrower ellipse, like the patch of surface it stands for. (Slopes are
    capped for grazing points, whose plane is nearly parallel to the rays.) Depths are quantised
    into integer keys ``level · n + point`` (unique, larger = nearer; equal levels are ordered by
    point index, so the result never depends on the order of processing) and the z-buffer keeps
    the largest key per pixel. It is padded by ``2k + 1`` pixels on every side (``k`` the
    footprint's half-width) and points outside the picture are clamped into the padding, so no
    footprint needs a bounds check.
    """
    v, n = len(poses), len(points)
    rot = np.stack([camera_rotation(a, e) for a, e in poses]).transpose(0, 2, 1)  # (v, 3, 3), transposed
    cam, ncam = points @ rot, normals @ rot  # (v, n, 3) each
    dy, dx, k = _footprint(radius)
    pad, width = 2 * k + 1, size + 4 * k + 2
    per_unit = size / (2 * EXTENT)
    col = np.clip(np.floor((cam[..., 0] + EXTENT) * per_unit), -k - 1, size + k)
    row = np.clip(np.floor((EXTENT - cam[..., 1]) * per_unit), -k - 1, size + k)
    # Per (view, point, footprint pixel) the depth is affine and the squared in-plane distance is
    # quadratic in the pixel's offset o = (o_x, o_y) from the centre of the point's own pixel, so
    # each is one small matrix product. a: offset from the point to its own pixel's centre.
    a_x = (col + 0.5) / per_unit - EXTENT - cam[..., 0]
    a_y = EXTENT - (row + 0.5) / per_unit - cam[..., 1]
    o_x, o_y = dx / per_unit, -dy / per_unit
    # tangent plane: Δz = c + s·o with slopes s = −(n_x, n_y)/n_z (|n_z| floored for grazing points)
    facing = np.copysign(np.maximum(np.abs(ncam[..., 2]), _MIN_FACING), ncam[..., 2])
    s_x, s_y = -ncam[..., 0] / facing, -ncam[..., 1] / facing
    c = s_x * a_x + s_y * a_y
    levels = _DEPTH_LEVELS / (4 * EXTENT)  # depth range [−2.2, 2.2]: room for the planes' tilt
    level0 = (cam[..., 2] + c + 2 * EXTENT) * levels
    key = np.stack([level0, s_x * levels, s_y * levels], axis=-1) @ np.stack([np.ones_like(o_x), o_x, o_y])
    # |a + o|² + (Δz)², expanded in the monomials 1, o_x, o_y, o_x², o_x o_y, o_y²
    coef = [a_x**2 + a_y**2 + c**2, 2 * (a_x + c * s_x), 2 * (a_y + c * s_y), 1 + s_x**2, 2 * s_x * s_y, 1 + s_y**2]
    monomials = np.stack([np.ones_like(o_x), o_x, o_y, o_x**2, o_x * o_y, o_y**2])
    outside = np.stack(coef, axis=-1) @ monomials > (radius / per_unit) ** 2  # (v, n, k)
    np.clip(key, 0, _DEPTH_LEVELS - 1, out=key)
    np.floor(key, out=key)
    key *= n
    key += np.arange(n)[:, None]  # exact in float64: keys < 2**24 · n
    np.putmask(key, outside, -1.0)
    centre = (np.arange(v)[:, None] * width + row.astype(np.int64) + pad) * width + col.astype(np.int64) + pad
    zbuf = np.full(v * width * width, -1.0)
    np.maximum.at(zbuf, (centre[..., None] + (dy * width + dx)).ravel(), key.ravel())
    zbuf = zbuf.reshape(v, width, width)[:, pad : pad + size, pad : pad + size]
    covered = zbuf >= 0
    intensity = np.zeros(zbuf.shape)
    light_cam = LIGHT if light == "camera" else (LIGHT_WORLD @ rot)[:, None, :]  # (v, 1, 3): world → camera
    intensity[covered] = _shade(ncam, light_cam)[np.nonzero(covered)[0], zbuf[covered].astype(np.int64) % n]
    return (intensity[..., None] * colour).astype(np.float32)


def _check_colour(colour: np.ndarray) -> np.ndarray:
    c = np.asarray(colour, dtype=np.float64)
    if c.shape != (3,) or not np.all((c >= 0) & (c <= 1)):
        raise ValueError(f"colour must be an RGB triple with entries in [0, 1]; got {colour!r}")
    return c


def render(
    points: np.ndarray,
    normals: np.ndarray,
    colour: np.ndarray,
    azimuth: float,
    elevation: float,
    size: int = 48,
    *,
    splat: float | None = None,
    light: str = "camera",
) -> np.ndarray:
    """``(size, size, 3)`` float32 image in [0, 1] of a dense surface sample of a canonical object.

    Orthographic view from ``(azimuth, elevation)`` (see :func:`camera_rotation`), each point a
    surfel of radius ``splat`` pixels (default :func:`splat_radius`), z-buffer, two-sided Lambert +
    ambient shading, background 0; ``light`` ``"camera"`` or ``"world"`` (see :func:`_render_views`).
    Deterministic: identical inputs give identical bytes.
    """
    if light not in LIGHT_FRAMES:
        raise ValueError(f"light must be one of {LIGHT_FRAMES}; got {light!r}")
    p, q = _check_cloud("points", points), _check_cloud("normals", normals)
    if q.shape != p.shape or len(p) == 0:
        raise ValueError(f"normals must have the same shape as points {p.shape}, with n >= 1; got {q.shape}")
    size = _check_int("size", size, 1)
    radius = splat_radius(len(p), size) if splat is None else _check_float("splat", splat, 0.5, 16.0)
    azimuth = _check_float("azimuth", azimuth)
    elevation = _check_float("elevation", elevation, -math.pi / 2, math.pi / 2)
    return _render_views(p, q, _check_colour(colour), np.array([[azimuth, elevation]]), size, radius, light)[0]


# --- colour --------------------------------------------------------------------------------------


def hsv_colour(hue: float, saturation: float = 0.75, value: float = 0.9) -> np.ndarray:
    """RGB ``(3,)`` of an HSV colour; ``hue`` is taken modulo 1 (0 red, 1/3 green, 2/3 blue)."""
    h = _check_float("hue", hue) % 1.0
    s = _check_float("saturation", saturation, 0.0, 1.0)
    v = _check_float("value", value, 0.0, 1.0)
    sector = min(int(h * 6), 5)
    f = h * 6 - sector
    lo, down, up = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = [(v, up, lo), (down, v, lo), (lo, v, up), (lo, down, v), (up, lo, v), (v, lo, down)]
    return np.array(table[sector])


def _hue(rgb: np.ndarray) -> np.ndarray:
    """Hue in [0, 1) of RGB values ``(..., 3)``; grey (and black) gets 0."""
    r, g, b = np.moveaxis(rgb.astype(np.float64), -1, 0)
    top, spread = rgb.max(axis=-1), rgb.max(axis=-1) - rgb.min(axis=-1)
    d = np.where(spread > 0, spread, 1.0)
    hue = np.where(top == r, ((g - b) / d) % 6, np.where(top == g, (b - r) / d + 2, (r - g) / d + 4))
    return np.where(spread > 0, hue / 6, 0.0) % 1.0


def colour_histogram(images: np.ndarray, bins: int = 8) -> np.ndarray:
    """``(..., H, W, 3)`` → ``(..., bins)``: share of object pixels (any channel > 0) per hue bin.

    Bin ``k`` is *centred* on hue ``k/bins`` (covers ``[(k − ½)/bins, (k + ½)/bins)`` modulo 1), so
    with 8 bins each class's own hue falls in the middle of its bin. Shading scales RGB uniformly,
    which keeps the hue, so a render's histogram is a spike at the object's hue. Rows sum to 1; an
    image with no object pixels gives zeros.
    """
    bins = _check_int("bins", bins, 1)
    x = np.asarray(images)
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"images must have shape (..., H, W, 3); got {x.shape}")
    lead = x.shape[:-3]
    flat = x.reshape(-1, x.shape[-3] * x.shape[-2], 3)
    obj = flat.max(axis=-1) > 0
    idx = np.floor(_hue(flat) * bins + 0.5).astype(np.int64) % bins
    which = np.arange(len(flat))[:, None] * bins + idx
    counts = np.bincount(which.ravel(), weights=obj.ravel(), minlength=len(flat) * bins).reshape(-1, bins)
    total = counts.sum(axis=1, keepdims=True)
    return (counts / np.where(total > 0, total, 1.0)).reshape(*lead, bins)


def pose_features(poses: np.ndarray) -> np.ndarray:
    """``(..., 2)`` azimuth, elevation → ``(..., 4)`` ``[sin a, cos a, sin e, cos e]``."""
    p = np.asarray(poses, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] != 2:
        raise ValueError(f"poses must have shape (..., 2) (azimuth, elevation); got {p.shape}")
    a, e = p[..., 0], p[..., 1]
    return np.stack([np.sin(a), np.cos(a), np.sin(e), np.cos(e)], axis=-1)


# --- the world -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class World:
    """A labelled set of objects: rotated point clouds for the student, canonical renders for the teacher.

    Objects are class-major. Compare worlds with :meth:`fingerprint` (arrays make ``==`` ambiguous).
    """

    labels: np.ndarray  # (n,) int64
    params: tuple  # n parameter vectors (length depends on the class)
    hues: np.ndarray  # (n,) in [0, 1)
    colours: np.ndarray  # (n, 3) RGB
    rotations: np.ndarray  # (n, 3, 3): clouds[i] = canonical_cloud_i @ rotations[i].T
    clouds: np.ndarray  # (n, n_points, 3) float32, rotated area-uniform samples
    poses: np.ndarray  # (n, n_views, 2) azimuth, elevation in radians
    renders: np.ndarray  # (n, n_views, size, size, 3) float32, canonical orientation

    def fingerprint(self) -> str:
        """SHA-256 hex digest over every array's dtype, shape and bytes."""
        h = hashlib.sha256()
        arrays = [("labels", self.labels), ("hues", self.hues), ("colours", self.colours)]
        arrays += [(f"params{i}", p) for i, p in enumerate(self.params)]
        arrays += [("rotations", self.rotations), ("clouds", self.clouds), ("poses", self.poses)]
        arrays += [("renders", self.renders)]
        for name, a in arrays:
            a = np.ascontiguousarray(a)
            h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.data)
        return h.hexdigest()


_STREAMS = ("params", "colour", "rotation", "cloud", "dense", "poses")


def _object_rngs(seed: int, label: int, index: int) -> dict[str, np.random.Generator]:
    """One independent generator per purpose for object ``index`` of class ``label``: the named
    stream ``(seed, "world", <class name>, <index>, <purpose>)``."""
    return {name: streams.rng(seed, "world", CLASSES[label], str(index), name) for name in _STREAMS}


def _object_hue(label: int, colour_bias: float, rng: np.random.Generator) -> float:
    """Class hue ``label/8`` ± jitter with probability ``colour_bias``, else uniform. Always 3 draws."""
    biased, jitter, free = rng.random(), rng.uniform(-_HUE_JITTER, _HUE_JITTER), rng.random()
    hue = (label / len(CLASSES) + jitter) % 1.0 if biased < colour_bias else free
    return hue if hue < 1.0 else 0.0  # (−tiny) % 1.0 rounds to 1.0


def make_world(
    n_per_class: int,
    n_points: int = 256,
    n_views: int = 4,
    size: int = 48,
    seed: int = 0,
    colour_bias: float = 0.3,
    dense_points: int = 4000,
    light: str = "camera",
    first_index: int = 0,
) -> World:
    """Build ``n_per_class`` objects of every class (class-major order) with clouds, poses and renders.

    Object ``j`` of class ``k`` depends only on ``(seed, k, j)``: its shape, colour and rotation do
    not change with ``n_per_class``, ``n_views``, ``n_points``, ``dense_points`` or ``size``.
    Poses: azimuth uniform in [0, 2π), elevation uniform in [−π/3, π/3]. ``light``: see
    :func:`_render_views` (``"world"``: the shading tells where the camera stood). ``first_index``:
    the objects are numbers ``first_index .. first_index + n_per_class − 1`` of each class, so two
    calls with ranges that do not overlap give disjoint objects of the same draw (the labelled
    teacher's objects start where the student's end).
    """
    if light not in LIGHT_FRAMES:
        raise ValueError(f"light must be one of {LIGHT_FRAMES}; got {light!r}")
    n_per_class = _check_int("n_per_class", n_per_class, 1)
    n_points = _check_int("n_points", n_points, 1)
    n_views = _check_int("n_views", n_views, 1)
    size = _check_int("size", size, 4)
    seed = _check_int("seed", seed, 0)
    colour_bias = _check_float("colour_bias", colour_bias, 0.0, 1.0)
    dense_points = _check_int("dense_points", dense_points, 16)
    first_index = _check_int("first_index", first_index, 0)
    n = n_per_class * len(CLASSES)
    labels = np.repeat(np.arange(len(CLASSES), dtype=np.int64), n_per_class)
    hues, rotations = np.empty(n), np.empty((n, 3, 3))
    clouds = np.empty((n, n_points, 3), dtype=np.float32)
    poses = np.empty((n, n_views, 2))
    renders = np.empty((n, n_views, size, size, 3), dtype=np.float32)
    params = []
    radius = splat_radius(dense_points, size)
    for i, label in enumerate(labels.tolist()):
        rngs = _object_rngs(seed, label, first_index + i % n_per_class)
        p = sample_params(label, rngs["params"])
        params.append(p)
        hues[i] = _object_hue(label, colour_bias, rngs["colour"])
        rotations[i] = random_rotations(1, rngs["rotation"])[0]
        clouds[i] = surface_points(label, p, n_points, rngs["cloud"])[0] @ rotations[i].T.astype(np.float32)
        u = rngs["poses"].random((n_views, 2))
        poses[i] = np.column_stack([2 * math.pi * u[:, 0], _MAX_ELEVATION * (2 * u[:, 1] - 1)])
        dense, normals = surface_points(label, p, dense_points, rngs["dense"])
        colour = hsv_colour(hues[i], _SATURATION, _VALUE)
        renders[i] = _render_views(dense.astype(np.float64), normals.astype(np.float64), colour, poses[i], size, radius,
                                   light)
    colours = np.stack([hsv_colour(h, _SATURATION, _VALUE) for h in hues])
    return World(labels, tuple(params), hues, colours, rotations, clouds, poses, renders)
