"""Each corruption does what its source says, checked on hand-made images: a rotation,
shear or scaling moves a known pixel where its matrix says, a translation by its offset,
brightness shifts the mean as computed, blurs spread a point, lines add pixels where they
should, Canny lights a square's border and not its interior, and noise changes the pixel
statistics as its parameter says."""

import math

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)

SIDE = 29  # odd: the centre (14, 14) is a pixel, so scaled and rotated points are exact
CENTRE = (SIDE - 1) / 2


def point(row: int, col: int, side: int = SIDE, channels: int = 1) -> np.ndarray:
    image = np.zeros([1, side, side, channels], np.float32)
    image[0, row, col] = 1.0
    return image


def brightest(image: np.ndarray):
    return np.unravel_index(np.argmax(image[0, ..., 0]), image.shape[1:3])


def apply(name, images, severity):
    from robustfx.robustness.corruptions.registry import apply as apply_corruption

    return apply_corruption(name, images, severity).numpy()


def expected_position(matrix, row, col):
    """Where an output -> input map ``matrix`` (x, y about the centre) shows input pixel
    (row, col): the output point the matrix sends there."""
    x, y = np.linalg.solve(np.asarray(matrix, float), [col - CENTRE, row - CENTRE])
    return y + CENTRE, x + CENTRE


@pytest.mark.parametrize("radians", [0.4, -0.6])
def test_rotation_moves_a_pixel_where_the_rotation_matrix_says(radians):
    from robustfx.robustness.corruptions.geometric import rotate_images

    out = rotate_images(point(4, 20), np.float32([radians])).numpy()
    c, s = math.cos(radians), math.sin(radians)
    row, col = expected_position([[c, -s], [s, c]], 4, 20)
    assert np.allclose(brightest(out), (row, col), atol=0.75)
    assert out.max() > 0.25 and out[0, 4, 20, 0] == 0.0  # moved, not smeared
    # The corruption rotates by its severity's angle, one way or the other.
    found = brightest(apply("rotate", point(4, 20), 2))
    candidates = [expected_position([[c, -s], [s, c]], 4, 20) for c, s in
                  ((math.cos(a), math.sin(a)) for a in (0.4, -0.4))]  # fmt: skip
    assert min(np.hypot(found[0] - r, found[1] - k) for r, k in candidates) < 0.75


def test_shear_and_scale_move_a_pixel_where_their_matrices_say():
    from robustfx.robustness.corruptions.geometric import scale_images, shear_images

    sheared = shear_images(point(24, 10), np.float32([0.6])).numpy()
    row, col = expected_position([[1, -math.sin(0.6)], [0, math.cos(0.6)]], 24, 10)
    assert np.allclose(brightest(sheared), (row, col), atol=0.75)
    halved = scale_images(point(22, 6), np.float32([2.0])).numpy()  # content halves
    assert brightest(halved) == (18, 10)
    assert halved[0, 18, 10, 0] == pytest.approx(1.0)
    # The corruption's severity 5 shrinks by 1 / 0.5 = 2 as well.
    np.testing.assert_allclose(apply("scale", point(22, 6), 5), halved, atol=1e-6)


def test_translation_moves_a_pixel_by_its_offset():
    out = apply("translate", point(10, 12, side=28), 3)  # 3 pixels along each axis
    row, col = brightest(out)
    assert (abs(row - 10), abs(col - 12)) == (3, 3)
    assert out[0, row, col, 0] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_brightness_shifts_the_mean_as_computed(digits):
    out = apply("brightness", digits, 2)  # + 0.2, clipped at 1
    assert out.mean() == pytest.approx(np.minimum(digits + 0.2, 1.0).mean(), abs=1e-6)
    grey = np.full([1, 8, 8, 1], 0.3, np.float32)
    assert apply("brightness", grey, 4).mean() == pytest.approx(0.7)
    # RGB: the HSV value rises by 0.3, hue and saturation kept: (0.4, 0.2, 0.1) -> x 1.75.
    colour = np.tile(np.float32([0.4, 0.2, 0.1]), [1, 8, 8, 1])
    np.testing.assert_allclose(apply("brightness", colour, 3)[0, 0, 0], [0.7, 0.35, 0.175], 1e-5)


def test_motion_blur_spreads_a_point_along_a_line():
    import tensorflow as tf

    from robustfx.robustness.corruptions.blur import streak

    # ImageMagick's (radius 10, sigma 3): 12 taps above 1/1000 of the first, at angle 0.
    out = streak(tf.constant(point(14, 20)), tf.constant([0.0]), radius=10, sigma=3).numpy()
    lit = np.argwhere(out[0, ..., 0] > 0)
    assert set(lit[:, 0]) == {14}  # one row
    assert sorted(lit[:, 1]) == list(range(9, 21))  # the 12 pixels behind the point
    assert out[0, 14, 20, 0] > out[0, 14, 15, 0] > out[0, 14, 9, 0]  # fading as exp(-i^2/18)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)
    blurred = apply("motion_blur", point(14, 14), 3)
    assert blurred.max() < 0.5 and (blurred > 1e-3).sum() >= 8


def test_defocus_and_glass_blur_spread_a_point():
    disk = apply("defocus_blur", point(16, 16, side=33, channels=3), 5)[0, ..., 0]
    rows, cols = np.nonzero(disk > 1e-3)
    distance = np.hypot(rows - 16, cols - 16)
    assert len(rows) >= 9 and distance.max() <= 1.5 * 33 / 32 + 1.5
    np.testing.assert_allclose(disk, disk[::-1, ::-1], atol=1e-6)  # a round kernel
    glass = apply("glass_blur", point(14, 14), 3)
    assert glass.max() < 0.5 and (glass > 1e-3).sum() >= 9


def test_stripes_invert_the_outer_columns():
    out = apply("stripe", np.zeros([1, 28, 28, 1], np.float32), 3)  # MNIST-C's own 7
    inverted = np.nonzero(out[0, 0, :, 0])[0]
    assert list(inverted) == list(range(7)) + list(range(21, 28))
    assert np.all(out[0, :, :, 0] == out[0, :1, :, 0])


def test_dotted_line_and_zigzag_add_pixels_where_they_should():
    blank = np.zeros([1, 28, 28, 1], np.float32)
    dotted = apply("dotted_line", blank, 3)[0, ..., 0]
    cols = np.nonzero(dotted.max(axis=0))[0]
    assert len(cols) >= 10 and all((c // 2) % 2 == 1 for c in cols)  # dashes of 2, gaps of 2
    assert (dotted > 0).sum(axis=0).max() <= 3  # a stroke about 2.9 pixels thick
    zigzag = apply("zigzag", blank, 3)[0, ..., 0]
    rows, cols = np.nonzero(zigzag)
    assert cols.min() >= 1 and cols.max() <= 26 and cols.max() - cols.min() >= 20
    assert rows.max() - rows.min() <= 5 + 4 + 3  # r0 .. r0 + 4, teeth 2 high, stroke 1.45
    assert (apply("zigzag", blank, 5) >= apply("zigzag", blank, 1)).all()  # wider at 5


def test_canny_lights_a_squares_border_not_its_interior():
    square = np.zeros([1, 28, 28, 1], np.float32)
    square[0, 8:20, 8:20] = 1.0
    edges = apply("canny_edges", square, 5)[0, ..., 0]  # MNIST-C's: the edge map alone
    assert set(np.unique(edges)) == {0.0, 1.0}
    rows, cols = np.nonzero(edges)
    border = np.minimum(np.minimum(abs(rows - 7.5), abs(rows - 19.5)),
                        np.minimum(abs(cols - 7.5), abs(cols - 19.5)))  # fmt: skip
    assert len(rows) >= 36 and border.max() <= 1.0
    assert edges[10:18, 10:18].sum() == 0 and edges[:5].sum() == 0
    half = apply("canny_edges", square, 3)  # weight 0.6 over the image
    np.testing.assert_allclose(half[0, ..., 0], 0.4 * square[0, ..., 0] + 0.6 * edges, atol=1e-6)


def test_impulse_noise_replaces_its_fraction_of_pixels():
    grey = np.full([2, 64, 64, 1], 0.5, np.float32)
    out = apply("impulse_noise", grey, 4)  # amount 0.17
    salt, pepper = (out == 1.0).mean(), (out == 0.0).mean()
    assert salt + pepper == pytest.approx(0.17, abs=0.015)
    assert salt == pytest.approx(pepper, abs=0.02)
    assert ((out == 0.5) | (out == 0.0) | (out == 1.0)).all()


def test_shot_and_gaussian_noise_change_the_statistics_as_their_parameter_says():
    grey = np.full([2, 64, 64, 1], 0.25, np.float32)
    shot = apply("shot_noise", grey, 3)  # Poisson(0.25 * 12) / 12
    counts = shot * 12
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    assert shot.mean() == pytest.approx(0.25, abs=0.01)
    assert shot.var() == pytest.approx(0.25 / 12, rel=0.1)
    colour = np.full([2, 64, 64, 3], 0.5, np.float32)
    noisy = apply("gaussian_noise", colour, 5)  # CIFAR-10-C's 0.10 below 85 pixels
    assert (noisy - colour).std() == pytest.approx(0.10, rel=0.05)
    large = np.full([1, 96, 96, 3], 0.5, np.float32)
    assert (apply("gaussian_noise", large, 2) - large).std() == pytest.approx(0.12, rel=0.05)


def test_photometric_corruptions_change_pixels_as_computed():
    two_tone = np.zeros([1, 8, 8, 3], np.float32)
    two_tone[0, :4] = 0.8
    two_tone[0, 4:] = 0.2
    np.testing.assert_allclose(  # contrast 0.4 about the mean 0.5
        apply("contrast", two_tone, 3)[0, :, 0, 0], [0.62] * 4 + [0.38] * 4, atol=1e-6
    )
    # Saturation x 0.1 (severity 2): (0.8, 0.4, 0.2) has S = 0.75 -> 0.075, V kept at 0.8.
    colour = np.tile(np.float32([0.8, 0.4, 0.2]), [1, 4, 4, 1])
    np.testing.assert_allclose(apply("saturate", colour, 2)[0, 0, 0], [0.8, 0.76, 0.74], 1e-5)
    rng = np.random.RandomState(0)
    natural = rng.uniform(0, 1, [1, 96, 96, 3]).astype(np.float32)
    pixelated = apply("pixelate", natural, 5)  # ImageNet-C's 0.25: blocks of 4 x 4
    np.testing.assert_allclose(pixelated[0, :4, :4], np.broadcast_to(
        natural[0, :4, :4].mean(axis=(0, 1)), (4, 4, 3)), atol=1e-5)  # fmt: skip
    errors = [np.abs(apply("jpeg_compression", natural, s) - natural).mean() for s in (1, 5)]
    assert 0 < errors[0] < errors[1]


def test_weather_overlays_do_what_they_are_made_of():
    grey = np.full([2, 28, 28, 1], 0.5, np.float32)
    fogged = apply("fog", grey, 1)  # (0.5 + 1.5 P) * 0.5 / 2, P in [0, 1]
    assert 0.125 - 1e-6 <= fogged.min() and fogged.max() <= 0.5 + 1e-6 and fogged.std() > 0
    mud = apply("spatter", np.zeros([2, 28, 28, 1], np.float32), 3)
    assert mud.max() <= 63 / 255 + 1e-6 and (mud > 0).mean() > 0.05
    black = np.zeros([2, 32, 32, 3], np.float32)
    frosted = apply("frost", black, 5)  # 0.45 x a bluish-white texture
    means = frosted.mean(axis=(0, 1, 2))
    assert means[0] < means[1] < means[2] and frosted.max() <= 0.45 + 1e-6
    snowed = apply("snow", black, 3)  # the layer is added with its half-turn copy
    np.testing.assert_allclose(snowed, snowed[:, ::-1, ::-1], atol=1e-5)
    assert snowed.min() >= 0.1 * 0.5 - 1e-6 and snowed.max() > 0.2


def test_the_elastic_transform_moves_pixels_but_keeps_a_flat_image():
    rng = np.random.RandomState(0)
    natural = rng.uniform(0, 1, [2, 32, 32, 3]).astype(np.float32)
    assert np.abs(apply("elastic_transform", natural, 3) - natural).mean() > 0.05
    flat = np.full([2, 32, 32, 3], 0.3, np.float32)
    np.testing.assert_allclose(apply("elastic_transform", flat, 3), flat, atol=1e-6)


@pytest.mark.parametrize("kernel_shape", [(1, 41), (9, 9), (15, 1)])
def test_a_large_kernel_through_the_fft_equals_the_direct_convolution(rng, kernel_shape):
    """Large kernels on large images go through the FFT (a 500x500 photo's motion-blur streak
    would need tens of GiB as conv2d's patch matrix); both paths give the same image."""
    import tensorflow as tf

    from robustfx.robustness.corruptions.filters import convolve

    images = tf.constant(rng.rand(2, 37, 45, 3), tf.float32)
    kernel = tf.constant(rng.rand(*kernel_shape), tf.float32)
    direct = convolve(images, kernel, "edge", fft_above=1 << 40)
    through_fft = convolve(images, kernel, "reflect", fft_above=0)
    reflected = convolve(images, kernel, "reflect", fft_above=1 << 40)
    assert through_fft.shape == direct.shape == images.shape
    np.testing.assert_allclose(through_fft.numpy(), reflected.numpy(), atol=2e-5)
    assert not np.allclose(direct.numpy(), reflected.numpy())  # the borders differ by mode
