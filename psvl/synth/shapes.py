"""Anti-aliased shape masks (pure numpy), cached by (shape, size, angle).

Why implicit functions on a supersampled grid: every shape reads the same way (a predicate on
normalized coordinates), rotation and scaling are one coordinate transform, and the cache makes each
distinct mask cost one evaluation per dataset rather than one per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

_SUPER = 3  # supersampling factor per axis
ANGLE_STEP = 3  # degrees; rotation angles are quantized so the cache stays small


def _in_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon, vectorized over points (loops over the few edges)."""
    inside = np.zeros(x.shape, dtype=bool)
    for i in range(len(px)):
        j = i - 1
        crosses = (py[i] > y) != (py[j] > y)
        x_at = (px[j] - px[i]) * (y - py[i]) / (py[j] - py[i] + 1e-12) + px[i]
        inside ^= crosses & (x < x_at)
    return inside


def _regular(n: int, r_out: float, r_in: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a regular polygon (or a star when r_in is given), pointing up."""
    if r_in is None:
        ang = np.pi / 2 + 2 * np.pi * np.arange(n) / n
        return r_out * np.cos(ang), r_out * np.sin(ang)
    ang = np.pi / 2 + np.pi * np.arange(2 * n) / n
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return r * np.cos(ang), r * np.sin(ang)


_TRI = _regular(3, 1.0)
_STAR = _regular(5, 1.0, 0.45)


def _heart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    hx, hy = 1.15 * x, 1.15 * y + 0.15
    return (hx**2 + hy**2 - 1) ** 3 - hx**2 * hy**3 <= 0


# Each predicate takes (x, y) with y pointing up, the shape filling about [-1, 1]^2.
SHAPES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "disc": lambda x, y: x**2 + y**2 <= 1.0,
    "square": lambda x, y: np.maximum(np.abs(x), np.abs(y)) <= 0.82,
    "annulus": lambda x, y: ((x**2 + y**2) <= 1.0) & ((x**2 + y**2) >= 0.5**2),
    "triangle": lambda x, y: _in_polygon(x, y + 0.2, *_TRI),
    "star": lambda x, y: _in_polygon(x, y, *_STAR),
    "cross": lambda x, y: (
        ((np.abs(x) <= 0.3) & (np.abs(y) <= 0.95)) | ((np.abs(y) <= 0.3) & (np.abs(x) <= 0.95))
    ),
    "heart": _heart,
    "diamond": lambda x, y: np.abs(x) / 0.8 + np.abs(y) <= 1.0,
    # the actor: a head over a body with two legs
    "figure": lambda x, y: (
        (x**2 + (y - 0.7) ** 2 <= 0.26**2)
        | ((np.abs(x) <= 0.3) & (y >= -0.35) & (y <= 0.42))
        | ((np.abs(np.abs(x) - 0.16) <= 0.1) & (y >= -1.0) & (y < -0.35))
    ),
}


@lru_cache(maxsize=8192)
def mask(shape: str, size: int, angle: int = 0) -> tuple[np.ndarray, int, int]:
    """Alpha mask (float32, tight) of `shape` with diameter `size` px rotated by `angle` degrees.

    Returns (alpha, dy, dx): the mask's top-left corner sits at (cy + dy, cx + dx) for a centre
    (cy, cx) in whole pixels.
    """
    half = int(np.ceil(size * 0.75))  # room for rotated corners
    n = 2 * half * _SUPER
    grid = (np.arange(n) + 0.5) / _SUPER - half  # pixel units, centre at 0
    xx, yy = np.meshgrid(grid, grid)
    theta = np.deg2rad(angle)
    c, s = np.cos(theta), np.sin(theta)
    r = size / 2.0
    x = (c * xx + s * yy) / r
    y = -(-s * xx + c * yy) / r  # image rows grow downwards; shapes are defined with y up
    inside = SHAPES[shape](x, y).astype(np.float32)
    alpha = inside.reshape(2 * half, _SUPER, 2 * half, _SUPER).mean(axis=(1, 3))
    rows, cols = np.nonzero(alpha)
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    out = np.ascontiguousarray(alpha[y0:y1, x0:x1])
    out.setflags(write=False)
    return out, int(y0) - half, int(x0) - half


def paste(
    frame: np.ndarray, shape: str, size: float, angle: float, cy: float, cx: float, rgb: np.ndarray
) -> tuple[int, int, int, int] | None:
    """Blend the shape into `frame` (H x W x 3 uint8, in place); return its clipped box (x1, y1, x2, y2).

    The box is exact: it spans every pixel the shape touched (x2, y2 exclusive), None if fully outside.
    """
    q = round(float(angle) / ANGLE_STEP) * ANGLE_STEP % 360
    alpha, dy, dx = mask(shape, max(2, round(float(size))), q)
    top, left = round(float(cy)) + dy, round(float(cx)) + dx
    h, w = frame.shape[:2]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + alpha.shape[0], h), min(left + alpha.shape[1], w)
    if y0 >= y1 or x0 >= x1:
        return None
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left]
    rows, cols = np.nonzero(a * 255.0 > 0.5)  # pixels the blend can change (a fainter sliver rounds away)
    if rows.size == 0:
        return None
    region = frame[y0:y1, x0:x1].astype(np.float32)
    a3 = a[..., None]
    frame[y0:y1, x0:x1] = np.rint(region * (1 - a3) + rgb * a3).astype(np.uint8)
    return x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1, y0 + int(rows.max()) + 1
