"""Properties every corruption keeps: severity 0 is the identity; outputs stay float32 in
[0, 1] with their shape, for 1 and 3 channels and non-square sizes; distortion grows with
severity; the same example gets the same corruption in another process, twice in one, and
in any batch; different examples get different draws."""

import subprocess
import sys

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)
from robustfx.base.corruption_sets import ALL_CORRUPTIONS, MNIST_C_CORRUPTIONS, RGB_CORRUPTIONS
from tests.helpers.paths import REPO

ROOT = str(REPO)
# Where a source's own table does not grow in distortion from severity 1 to 5, the runs of
# severities along which it does, and why.
PUBLISHED_NOT_MONOTONE = {
    "saturate": ([(1, 2), (3, 4, 5)], "1-2 desaturate, 3-5 oversaturate (ImageNet-C)"),
    "spatter": ([(1, 2, 3), (4, 5)], "rows 1-3 are ImageNet-C's water drops; as mud, the "
                                      "MNIST-C form, they cover more than rows 4-5"),
    "elastic_transform": ([], "the affine jitter shrinks as the elastic field grows"),
    "pixelate": ([(2, 3, 4, 5)], "CIFAR-10-C's 0.95 downsampling aliases more than 0.9"),
    "snow": ([(1, 2, 3, 4)], "CIFAR-10-C's severity 5 has smaller, longer-streaked flakes"),
    "fog": ([(1, 2, 3), (4, 5)], "3 and 4 share strength 2.5; only the roughness differs"),
    "glass_blur": ([(2, 3, 4, 5)], "MNIST-C's 1 (two passes of 1-pixel swaps) distorts about "
                                   "as much as its 2 (one pass of 2-pixel swaps)"),
}  # fmt: skip


def structural_distortion(clean: np.ndarray, corrupted: np.ndarray) -> float:
    """1 - the Pearson correlation of each corrupted image with its clean one, averaged: a
    distance that a global brightness change alone does not dominate."""
    a = clean.reshape(len(clean), -1).astype(np.float64)
    b = corrupted.reshape(len(corrupted), -1).astype(np.float64)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    norms = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    correlation = np.where(norms > 0, (a * b).sum(1) / np.maximum(norms, 1e-12), 0.0)
    return float(np.mean(1.0 - correlation))


def test_the_library_implements_exactly_the_named_corruptions():
    from robustfx.robustness.corruptions.registry import CORRUPTIONS

    assert sorted(CORRUPTIONS) == sorted(ALL_CORRUPTIONS)
    assert len(MNIST_C_CORRUPTIONS) == 15 and len(RGB_CORRUPTIONS) == 9
    for name, corruption in CORRUPTIONS.items():
        assert corruption.channels == ((3,) if name in RGB_CORRUPTIONS else (1, 3))
        for table in corruption.tables:
            assert "github" in table.source and len(table.levels) == 5


def test_severity_zero_is_the_identity(digits, colour_digits):
    from robustfx.robustness.corruptions.registry import CORRUPTIONS, apply

    for name, corruption in CORRUPTIONS.items():
        for images in (digits, colour_digits):
            if images.shape[-1] in corruption.channels:
                np.testing.assert_array_equal(apply(name, images, 0).numpy(), images, name)


def test_outputs_stay_in_range_with_shape_and_dtype(corrupted):
    for (name, channels), by_severity in corrupted.items():
        for severity, images in enumerate(by_severity[1:], start=1):
            assert images.dtype == np.float32, (name, severity)
            assert images.shape == by_severity[0].shape, (name, severity)
            assert np.all(np.isfinite(images)), (name, severity)
            assert images.min() >= 0.0 and images.max() <= 1.0, (name, channels, severity)


@pytest.mark.parametrize("shape", [(20, 36, 1), (32, 48, 3), (90, 120, 3)])
def test_any_size_keeps_range_shape_and_dtype(shape):
    import tensorflow as tf

    from robustfx.robustness.corruptions.registry import CORRUPTIONS, apply

    images = np.random.RandomState(1).uniform(0, 1, (2, *shape)).astype(np.float32)
    severities = (1, 5) if shape[0] < 85 else (5,)  # 90 x 120 uses ImageNet-C's tables
    for name, corruption in CORRUPTIONS.items():
        if shape[-1] not in corruption.channels:
            continue
        for severity in severities:
            out = apply(name, tf.constant(images), severity)
            assert out.dtype == tf.float32 and out.shape == images.shape, (name, shape)
            out = out.numpy()
            assert out.min() >= 0.0 and out.max() <= 1.0, (name, shape, severity)


def test_distortion_grows_with_severity(corrupted):
    for (name, channels), by_severity in corrupted.items():
        clean = by_severity[0]
        distortion = {s: structural_distortion(clean, by_severity[s]) for s in range(1, 6)}
        assert all(value > 1e-4 for value in distortion.values()), (name, channels, distortion)
        if name in PUBLISHED_NOT_MONOTONE:
            runs, _ = PUBLISHED_NOT_MONOTONE[name]
        else:
            runs = [(1, 2, 3, 4, 5)]
            assert distortion[5] > distortion[1], (name, channels, distortion)
        for run in runs:
            values = [distortion[s] for s in run]
            assert values == sorted(values), (name, channels, distortion)


def test_rgb_only_corruptions_refuse_grey_images(digits):
    from robustfx.robustness.corruptions.registry import apply

    with pytest.raises(ValueError, match="saturate needs 3 channels"):
        apply("saturate", digits, 1)
    with pytest.raises(ValueError, match="severity 6"):
        apply("fog", digits, 6)
    with pytest.raises(ValueError, match="unknown"):
        apply("sunburn", digits, 1)


_SAME_IN_EVERY_PROCESS = ("shot_noise", "impulse_noise", "glass_blur", "motion_blur", "rotate",
                          "translate", "fog", "spatter", "dotted_line", "zigzag")  # fmt: skip
_RGB_IN_EVERY_PROCESS = ("gaussian_noise", "elastic_transform", "frost", "snow")
_OTHER_PROCESS = """
import sys
import numpy as np
import robustfx
from robustfx.robustness.corruptions.registry import apply
grey, colour = np.load(sys.argv[1]), np.load(sys.argv[2])
from robustfx.robustness.corruptions.registry import compile_corruption
out = {name: apply(name, grey, 3).numpy() for name in sys.argv[4].split(",")}
out.update({name: apply(name, colour, 3).numpy() for name in sys.argv[5].split(",")})
out["traced"] = compile_corruption("fog", 4, grey.shape[1:])(grey).numpy()
np.savez(sys.argv[3], **out)
"""


def test_the_same_example_gets_the_same_corruption_in_another_process(
    tmp_path, digits, colour_digits
):
    from robustfx.robustness.corruptions.registry import apply, compile_corruption

    grey, colour = tmp_path / "grey.npy", tmp_path / "colour.npy"
    np.save(grey, digits[:4])
    np.save(colour, colour_digits[:4])
    script = tmp_path / "corrupt.py"
    script.write_text(_OTHER_PROCESS)
    result = tmp_path / "result.npz"
    names, rgb_names = ",".join(_SAME_IN_EVERY_PROCESS), ",".join(_RGB_IN_EVERY_PROCESS)
    subprocess.run(
        [sys.executable, str(script), str(grey), str(colour), str(result), names, rgb_names],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    there = np.load(result)
    for name in _SAME_IN_EVERY_PROCESS:
        np.testing.assert_array_equal(there[name], apply(name, digits[:4], 3).numpy(), name)
    for name in _RGB_IN_EVERY_PROCESS:
        np.testing.assert_array_equal(there[name], apply(name, colour_digits[:4], 3).numpy())
    traced = compile_corruption("fog", 4, (28, 28, 1))
    np.testing.assert_array_equal(there["traced"], traced(digits[:4]).numpy())


def test_the_same_example_gets_the_same_corruption_in_any_batch(digits, corrupted):
    import tensorflow as tf

    from robustfx.robustness.corruptions.registry import apply, compile_corruption

    for name in ("shot_noise", "glass_blur", "rotate", "fog", "zigzag", "spatter"):
        whole = corrupted[name, 1][3]
        np.testing.assert_array_equal(apply(name, digits, 3).numpy(), whole, name)
        # The example alone, and beside a copy of another: it is seeded by its own bytes.
        alone = apply(name, digits[5:6], 3).numpy()
        np.testing.assert_allclose(alone[0], whole[5], atol=1e-6, err_msg=name)
        shuffled = apply(name, np.stack([digits[7], digits[5], digits[5]]), 3).numpy()
        np.testing.assert_allclose(shuffled[1], whole[5], atol=1e-6, err_msg=name)
        np.testing.assert_array_equal(shuffled[1], shuffled[2], name)
    # Traced once for any batch size: the same draws (graph rewrites may round the last bit
    # otherwise than eager execution), and bit for bit the same on every call.
    traced = compile_corruption("shot_noise", 3, (28, 28, 1))
    first = traced(tf.constant(digits)).numpy()
    np.testing.assert_allclose(first, corrupted["shot_noise", 1][3], atol=1e-6)
    np.testing.assert_array_equal(traced(tf.constant(digits)).numpy(), first)
    np.testing.assert_array_equal(traced(tf.constant(digits[5:6])).numpy()[0], first[5])


def test_different_examples_get_different_draws(colour_digits):
    from robustfx.robustness.corruptions.registry import apply

    same = np.repeat(colour_digits[:1], 2, axis=0)
    twin = same.copy()
    twin[1, 0, 0, 0] = np.float32(same[1, 0, 0, 0] + 1 / 255)  # one pixel one level apart
    noise = apply("gaussian_noise", twin, 3).numpy() - twin
    flips = apply("impulse_noise", twin, 3).numpy() != twin
    assert np.abs(noise[0] - noise[1]).mean() > 0.01
    assert (flips[0] != flips[1]).mean() > 0.05
    # The key mixes in the corruption's name: two corruptions draw apart.
    from robustfx.robustness.corruptions.randomness import example_keys

    keys = [example_keys(same, name).numpy() for name in ("shot_noise", "gaussian_noise")]
    assert not np.array_equal(keys[0], keys[1])
