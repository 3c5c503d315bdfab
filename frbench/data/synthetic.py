"""A synthetic segmentation set built from scikit-image's bundled photographs: no download.

Each image is a textured background with one or more foreground objects; the mask is the
union of the objects. Every element is drawn at random from the ranges of `Scenes` (the
config's `data.synthetic` block), so the task is learnable and its difficulty is set:

- background: a crop of a real photograph, rotated by any angle, maybe flipped, rescaled,
  then re-coloured to a random contrast (`texture_contrast`), a nearly grey mean colour and
  `background_saturation` of the photo's own colours;
- objects: 1 to `max_objects` smooth shapes of three kinds (star-convex blobs from random
  radial Fourier harmonics, ellipses, thresholded smooth noise), radii in `object_radius`
  of the image side, centres anywhere in the image (so some are cut by the border), each
  filled with a crop of another photo (with chance `camouflage`, the background's own)
  tinted to a mean colour `colour_offset` away from the background's;
- lighting: a linear gradient times a vignette; colour jitter (channel gains, saturation,
  brightness); Gaussian noise (`noise`); rounding to uint8.

The defaults are the default study's task, on which a width-8 UNet converges to a test Dice
near 0.95 (config/README.md says how it was tuned). Version 1's harder scenes, where the
same UNet levels off near 0.65, are `HARD` (objects barely off the background's
colour, camouflage, full-colour backgrounds).

Objects are composited with a one-pixel anti-aliased edge; the mask is the 0.5 level of
that edge, computed before lighting and noise, so it is exact.

Determinism: image i is drawn from its own generator, seeded by child i of
`np.random.SeedSequence(seed)`, so it depends on `(seed, i, size, scenes)` only, not on how
many images are generated or in which order. Shapes and crops are defined relative to the
image size, so the same seed draws the same scene at 64x64 and at 256x256 (textures look
softer at large sizes, where crops are up-sampled). Bump `VERSION` whenever a change alters
the images a seed and `Scenes` produce.
"""
from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import asdict, dataclass, fields

import numpy as np
import skimage.data

from .errors import DataError

VERSION = 2

# Photographs that ship inside scikit-image (no download). Grey ones are repeated to RGB.
TEXTURES = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "rocket",
)

CROP_FRACTION = (0.15, 0.5)  # crop side / photo's short side; <= 0.5 so any rotation fits
BACKGROUND_CHROMA = 0.05  # spread of the background's mean colour around grey
EDGE_PX = 1.0  # width of the anti-aliased object edge, in pixels


@dataclass(frozen=True)
class Scenes:
    """How hard the scenes are: the ranges every scene draws from (config `data.synthetic`,
    whose keys are these fields; a range is [low, high])."""

    colour_offset: tuple[float, float] = (0.3, 0.6)  # distance between object and background mean colours
    texture_contrast: tuple[float, float] = (0.02, 0.08)  # standard deviation of a layer's photo detail
    object_radius: tuple[float, float] = (0.15, 0.35)  # object radius / image's short side (log-uniform)
    max_objects: int = 2  # objects per scene: 1 to this
    camouflage: float = 0.0  # chance that an object reuses the background's texture
    background_saturation: float = 0.2  # the background photo's colours: 1 as they are, 0 grey
    noise: tuple[float, float] = (0.005, 0.02)  # standard deviation of the Gaussian pixel noise

    @classmethod
    def from_dict(cls, d: dict) -> "Scenes":
        """From the config's `data.synthetic` block (`n_images` is not a scene property)."""
        known = {f.name for f in fields(cls)}
        scenes = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})
        for name in known:
            value = getattr(scenes, name)
            if isinstance(value, tuple) and not 0 < value[0] <= value[1]:
                raise DataError(f"data.synthetic.{name}: a range [low, high] with 0 < low <= high, not {list(value)}")
        return scenes

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


#: version 1's scenes: objects barely off the background's colour, camouflage, full-colour backgrounds
HARD = Scenes(colour_offset=(0.08, 0.5), texture_contrast=(0.03, 0.2), object_radius=(0.08, 0.3),
             max_objects=3, camouflage=0.15, background_saturation=1.0, noise=(0.005, 0.05))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))


@functools.lru_cache(maxsize=None)
def texture(name: str, level: int = 0) -> np.ndarray:
    """Photo `name` as read-only float32 (H, W, 3) in [0, 1], halved `level` times.

    Level k is level k-1 averaged over 2x2 blocks: a crop that shrinks by more than 2x
    samples a coarser level instead of aliasing.
    """
    if level == 0:
        img = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
    else:
        prev = texture(name, level - 1)
        h, w = prev.shape[0] // 2 * 2, prev.shape[1] // 2 * 2
        p = prev[:h, :w]
        img = (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4
    img.flags.writeable = False
    return img


@functools.lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x), each float32 (H, W), centred on the image centre."""
    y = np.arange(height, dtype=np.float32) - (height - 1) / 2
    x = np.arange(width, dtype=np.float32) - (width - 1) / 2
    ys, xs = np.meshgrid(y, x, indexing="ij")
    ys.flags.writeable = xs.flags.writeable = False
    return ys, xs


def _bilinear(tex: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sample `tex` (h, w, 3) at float coordinates inside it: (H, W) -> (H, W, 3)."""
    y0 = np.minimum(y.astype(np.intp), tex.shape[0] - 2)
    x0 = np.minimum(x.astype(np.intp), tex.shape[1] - 2)
    fy = (y - y0)[..., None]
    fx = (x - x0)[..., None]
    top = tex[y0, x0] * (1 - fx) + tex[y0, x0 + 1] * fx
    bottom = tex[y0 + 1, x0] * (1 - fx) + tex[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _crop(rng: np.random.Generator, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A random crop of photo `name`: any rotation, maybe mirrored, resampled to `shape`."""
    height, width = shape
    full = texture(name)
    side = min(full.shape[:2]) * _log_uniform(rng, CROP_FRACTION)
    step = side / max(height, width)  # photo pixels per output pixel
    level = int(math.log2(step)) if step >= 2 else 0
    tex = texture(name, level)
    step /= 2**level
    angle = rng.uniform(0, 2 * math.pi)
    cos, sin = math.cos(angle), math.sin(angle)
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    # Half extents of the rotated output rectangle in the photo; the centre keeps it inside.
    half_y = step * ((height - 1) / 2 * abs(cos) + (width - 1) / 2 * abs(sin))
    half_x = step * ((width - 1) / 2 * abs(cos) + (height - 1) / 2 * abs(sin))
    cy = rng.uniform(half_y, tex.shape[0] - 1 - half_y)
    cx = rng.uniform(half_x, tex.shape[1] - 1 - half_x)
    ys, xs = _grid(height, width)
    xs = xs * mirror
    ty = cy + step * (cos * ys - sin * xs)
    tx = cx + step * (sin * ys + cos * xs)
    return _bilinear(tex, ty, tx)


def _layer(rng: np.random.Generator, name: str, shape: tuple[int, int], mean: np.ndarray,
           contrast: tuple[float, float]) -> np.ndarray:
    """A crop of `name` re-coloured to mean colour `mean` and a random contrast from `contrast`."""
    crop = _crop(rng, name, shape)
    centred = crop - crop.mean(axis=(0, 1))
    # Cap the gain: a nearly flat crop (night sky, dark background) must not turn to noise.
    gain = min(rng.uniform(*contrast) / max(float(centred.std()), 1e-3), 4.0)
    return mean.astype(np.float32) + gain * centred


def _star_blob(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Star-convex blob: radius 1 modulated by harmonics 2-5 of the polar angle."""
    rho = np.hypot(u, v)
    theta = np.arctan2(v, u)
    radius = np.ones_like(rho)
    for k in range(2, 6):
        radius += rng.normal(0, 0.3 / k) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    return np.maximum(radius, 0.2) - rho


def _ellipse(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Ellipse with semi-axes 1 and b in (0.35, 1), at any angle."""
    b = rng.uniform(0.35, 1.0)
    phi = rng.uniform(0, math.pi)
    along = u * math.cos(phi) + v * math.sin(phi)
    across = v * math.cos(phi) - u * math.sin(phi)
    return (1 - np.hypot(along, across / b)) * b


def _noise_blob(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Thresholded smooth noise: a cone plus six random low-frequency plane waves.

    Gives irregular outlines, sometimes holes or a second piece near the first.
    """
    field = 1 - np.hypot(u, v)
    for _ in range(6):
        wy, wx = rng.normal(0, 2.0, size=2).tolist()
        field += rng.normal(0, 0.15) * np.cos(wy * v + wx * u + rng.uniform(0, 2 * math.pi))
    return field


SHAPES = (_star_blob, _ellipse, _noise_blob)


def _object_level(rng: np.random.Generator, shape: tuple[int, int], radius_fraction: tuple[float, float]) -> np.ndarray:
    """A random object's level field: roughly the signed distance to its outline in pixels,
    positive inside. Shapes are drawn in units of the object's radius."""
    height, width = shape
    radius = min(height, width) * _log_uniform(rng, radius_fraction)
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    ys, xs = _grid(height, width)
    u = (xs + (width - 1) / 2 - cx) / radius
    v = (ys + (height - 1) / 2 - cy) / radius
    draw = SHAPES[rng.integers(len(SHAPES))]
    return draw(rng, u, v) * radius


def _object_mean(rng: np.random.Generator, background: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """The background's mean colour moved a random distance in a random direction."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    return np.clip(background + rng.uniform(*offset) * direction, 0.05, 0.95)


def _light_and_jitter(rng: np.random.Generator, img: np.ndarray, noise: tuple[float, float]) -> np.ndarray:
    """Lighting gradient, vignette, channel gains, saturation, brightness, Gaussian noise."""
    height, width = img.shape[:2]
    ys, xs = _grid(height, width)
    y, x = ys / max(height / 2, 1), xs / max(width / 2, 1)  # in [-1, 1]
    phi = rng.uniform(0, 2 * math.pi)
    gradient = 1 + rng.uniform(0, 0.35) * (math.cos(phi) * x + math.sin(phi) * y)
    vignette = 1 - rng.uniform(0, 0.35) * (x**2 + y**2) / 2
    img = img * (gradient * vignette)[..., None] * rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + rng.uniform(0.6, 1.3) * (img - grey) + rng.uniform(-0.05, 0.05)
    return img + rng.uniform(*noise) * rng.standard_normal(img.shape, dtype=np.float32)


def draw_image(rng: np.random.Generator, shape: tuple[int, int],
               scenes: Scenes = Scenes()) -> tuple[np.ndarray, np.ndarray, dict]:
    """One scene: uint8 image (H, W, 3), uint8 mask (H, W) in {0, 1}, and the textures it used."""
    background_name = TEXTURES[rng.integers(len(TEXTURES))]
    background_mean = np.clip(rng.uniform(0.25, 0.75) + rng.normal(0, BACKGROUND_CHROMA, size=3), 0.05, 0.95)
    img = _layer(rng, background_name, shape, background_mean, scenes.texture_contrast)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + scenes.background_saturation * (img - grey)
    mask = np.zeros(shape, dtype=bool)
    object_names = []
    for _ in range(rng.integers(1, scenes.max_objects + 1)):
        level = _object_level(rng, shape, scenes.object_radius)
        camouflage = rng.random() < scenes.camouflage
        name = background_name if camouflage else TEXTURES[rng.integers(len(TEXTURES))]
        fill = _layer(rng, name, shape, _object_mean(rng, background_mean, scenes.colour_offset), scenes.texture_contrast)
        alpha = np.clip(0.5 + level / EDGE_PX, 0, 1)[..., None]
        img = img + alpha * (fill - img)
        mask |= level > 0
        object_names.append(name)
    img = _light_and_jitter(rng, img, scenes.noise)
    image = np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)
    return image, mask.astype(np.uint8), {"background": background_name, "objects": object_names}


def generate(n: int, size: tuple[int, int], seed: int,
             scenes: Scenes = Scenes()) -> tuple[np.ndarray, np.ndarray, dict]:
    """`n` scenes of `size` (height, width) from `seed`.

    Returns images uint8 (n, H, W, 3), masks uint8 (n, H, W) in {0, 1}, and how often each
    texture served as background and as object fill (for the dataset's meta).
    """
    height, width = size
    images = np.empty((n, height, width, 3), dtype=np.uint8)
    masks = np.empty((n, height, width), dtype=np.uint8)
    backgrounds, objects = Counter(), Counter()
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        images[i], masks[i], used = draw_image(np.random.default_rng(child), (height, width), scenes)
        backgrounds[used["background"]] += 1
        objects.update(used["objects"])
    textures = {"background": dict(sorted(backgrounds.items())), "objects": dict(sorted(objects.items()))}
    return images, masks, textures
