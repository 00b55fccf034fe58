"""One golden image per MNIST-C corruption: a real digit corrupted by the published code
(google-research/mnist-c corruptions.py) and kept in ``golden/<corruption>.npz``, written by
``benchmarks/mnist_c_golden.py``.

numpy's legacy ``RandomState`` stream is the same in every numpy version, so each test
replays the draws the published code made after ``numpy.random.seed(seed)`` (the rows of a
zigzag, each swap of glass blur, the plasma's draws, a sign, an angle) and hands them to the
project's functions: the result must be the reference's image. For the three corruptions
whose per-pixel draws come from numpy's own algorithms (Poisson counts, skimage's salt and
pepper, a Gaussian liquid layer) the golden image is the project's own output, to keep it
from changing unnoticed; their match with the reference is held by the statistics.
"""

import math
import pathlib

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)

GOLDEN = pathlib.Path(__file__).parent / "golden"
# Largest pixel difference allowed from the reference's image: float32 against float64
# arithmetic, and the reference's 8-bit rounding inside glass blur and motion blur's PNG.
EXACT = 2e-3
# ImageMagick's motion blur reads its taps at whole-pixel offsets along the angle; the
# project turns the image, blurs along the rows and turns it back (bilinear each time): the
# same streak, smoother. Measured on the golden digit: 0.018 mean, 0.19 largest difference.
MOTION_MEAN, MOTION_MAX = 0.025, 0.25
# Canny's non-maximum suppression here compares neighbours along the gradient rounded to 45
# degrees (skimage interpolates between them): a few edge pixels of a digit differ.
CANNY_DIFFERENT = 0.08  # of the reference's edge pixels


def load(name: str) -> dict:
    with np.load(GOLDEN / f"{name}.npz") as found:
        return {key: found[key] for key in found.files}


def clean_of(golden: dict) -> np.ndarray:
    return (golden["clean"][None, ..., None] / 255.0).astype(np.float32)


def replay_glass_draws(seed: int, iterations: int, steps: int, max_delta: int):
    """The coin and (dx, dy) of each visit, as glass_blur draws them from numpy."""
    rs = np.random.RandomState(seed)
    moves = np.zeros([1, iterations, steps], bool)
    offsets = np.zeros([1, iterations, steps, 2], np.int32)
    for iteration in range(iterations):
        for step in range(steps):
            if rs.choice([True, False], 1)[0]:
                moves[0, iteration, step] = True
                offsets[0, iteration, step] = rs.randint(-max_delta, max_delta, size=(2,))
    return moves, offsets


def replay_plasma_draws(seed: int, side: int = 256) -> np.ndarray:
    """plasma_fractal's draws, U(-1, 1) before its wibble scaling, in its order."""
    rs = np.random.RandomState(seed)
    draws, n = [], 1
    while n < side:
        draws += [2.0 * rs.random_sample((n, n)).ravel() - 1.0 for _ in range(3)]
        n *= 2
    return np.concatenate(draws)[None]


def replayed(name: str, golden: dict) -> np.ndarray:
    """The project's image of the golden digit, given the reference's draws."""
    import tensorflow as tf

    from robustfx.robustness.corruptions import blur, geometric, lines, sampling, shuffle, weather
    from robustfx.robustness.corruptions.registry import apply, parameters

    clean, seed, severity = clean_of(golden), int(golden["seed"]), int(golden["severity"])
    params, _, _ = parameters(name, severity, (28, 28, 1))
    rs = np.random.RandomState(seed)
    if name == "glass_blur":
        sigma, max_delta, iterations = params
        steps = len(shuffle.positions(28, 28, max_delta))
        moves, offsets = replay_glass_draws(seed, iterations, steps, max_delta)
        return blur.glass(clean, moves, offsets, sigma, max_delta).numpy()
    if name == "fog":
        strength, decay = params
        layer = weather.fog_layer(replay_plasma_draws(seed), decay, (28, 28), (28, 28))
        return weather.fogged(clean, layer, strength).numpy()
    if name == "zigzag":
        start, offset = rs.randint(0, 27), rs.randint(-5, 5)
        strokes = lines.zigzag_strokes(np.float32([start]), np.float32([offset]), params, (28, 28))
        return lines.add_strokes(clean, strokes).numpy()
    if name == "dotted_line":
        rows = rs.randint(0, 27, size=2).astype(np.float32)
        return lines.add_strokes(clean, lines.dotted_strokes(rows[None], params, (28, 28))).numpy()
    if name in ("shear", "rotate"):
        signed = np.float32([params * rs.choice([-1, 1], 1)[0]])
        warp = geometric.shear_images if name == "shear" else geometric.rotate_images
        return warp(clean, signed).numpy()
    if name == "translate":
        dx, dy = params * rs.choice([-1, 1], 2).astype(np.float32)
        return sampling.shift(clean, np.float32([dx]), np.float32([dy])).numpy()
    if name == "motion_blur":
        radius, sigma = params
        angle = np.float32([math.radians(rs.uniform(-45, 45))])
        return np.clip(blur.streak(tf.constant(clean), angle, radius, sigma).numpy(), 0, 1)
    return apply(name, clean, severity).numpy()  # no draws, or the project's own golden


def test_every_mnist_c_corruption_has_a_small_golden_image():
    from robustfx.base.corruption_sets import MNIST_C_CORRUPTIONS

    files = sorted(GOLDEN.glob("*.npz"))
    assert sorted(path.stem for path in files) == sorted(MNIST_C_CORRUPTIONS)
    assert all(path.stat().st_size < 8_000 for path in files)


@pytest.mark.parametrize("name", sorted(path.stem for path in GOLDEN.glob("*.npz")))
def test_the_project_remakes_the_golden_image(name):
    golden = load(name)
    expected = golden["expected"][None, ..., None]
    found = np.clip(replayed(name, golden), 0.0, 1.0)
    assert found.shape == expected.shape
    difference = np.abs(found - expected)
    if name == "canny_edges":
        different = (found != expected).sum()
        assert different <= CANNY_DIFFERENT * (expected > 0).sum(), different
    elif name == "motion_blur":
        assert difference.mean() < MOTION_MEAN and difference.max() < MOTION_MAX, (
            difference.mean(),
            difference.max(),
        )
    else:
        assert difference.max() < EXACT, (name, str(golden["source"]), difference.max())
    assert np.abs(expected - clean_of(golden)).max() > 0.1  # the golden image is corrupted
