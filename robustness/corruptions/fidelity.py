"""What a corruption does to images, in numbers that can be compared with its reference code
without running that code: the pixel change, the ink it adds, and how far it moves content.

- ``change_statistics(clean, corrupted)``: the mean pixel change, its spread within an image
  and between images, and the ink added and removed per image (in pixels' worth of full
  intensity), over a batch.
- ``impulse_images(count, side)`` and ``displacement_statistics(impulses, corrupted)``: a
  single lit pixel per image, and where the corruption puts its mass: the mean offset of the
  mass from the pixel (rows, columns), its spread along each axis, and the root mean square
  distance of the mass (its distribution: mean and quantiles over the images).

The expected values of the MNIST-C corruptions are measured once from the published code by
``benchmarks/mnist_c_reference.py`` and kept with the tests.
"""

from typing import Dict

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def _as_batch(images, name: str) -> np.ndarray:
    images = np.asarray(images, np.float64)
    if images.ndim != 4:
        raise ValueError(f"{name}: [batch, height, width, channels] images, not {images.shape}")
    return images


def change_statistics(clean, corrupted) -> Dict[str, float]:
    """Statistics of ``corrupted - clean`` over a batch ([n, h, w, c] each, in [0, 1]):

    - ``change_mean``: the mean pixel change;
    - ``change_sd``: its standard deviation within an image, averaged over the images;
    - ``change_between_sd``: the standard deviation of the images' mean changes;
    - ``background_sd``: the change's standard deviation over an image's blank pixels (0 in
      every channel of the clean image), averaged: what a layer laid over the image varies;
    - ``ink_added`` / ``ink_removed``: the summed increase / decrease per image, per channel,
      averaged, and ``ink_added_between_sd``: the spread of the increase between images.
    """
    clean, corrupted = _as_batch(clean, "clean"), _as_batch(corrupted, "corrupted")
    if clean.shape != corrupted.shape:
        raise ValueError(f"clean {clean.shape} and corrupted {corrupted.shape} differ in shape")
    change = corrupted - clean
    channels = change.shape[-1]
    blank = np.broadcast_to((clean == 0).all(axis=-1, keepdims=True), change.shape)
    counts = np.maximum(blank.sum(axis=(1, 2, 3)), 1)
    blank_mean = np.where(blank, change, 0).sum(axis=(1, 2, 3)) / counts
    blank_var = np.where(blank, (change - blank_mean[:, None, None, None]) ** 2, 0)
    added = np.maximum(change, 0).sum(axis=(1, 2, 3)) / channels
    return {
        "change_mean": float(change.mean()),
        "change_sd": float(change.std(axis=(1, 2, 3)).mean()),
        "change_between_sd": float(change.mean(axis=(1, 2, 3)).std()),
        "background_sd": float(np.sqrt(blank_var.sum(axis=(1, 2, 3)) / counts).mean()),
        "ink_added": float(added.mean()),
        "ink_added_between_sd": float(added.std()),
        "ink_removed": float(np.maximum(-change, 0).sum(axis=(1, 2, 3)).mean() / channels),
    }


def impulse_images(count: int, side: int = 28, margin: int = 8) -> np.ndarray:
    """[count, side, side, 1] blank images, each with one pixel at 1.0, spread over the square
    ``margin`` pixels in from each border (all different while count <= its area)."""
    span = side - 2 * margin
    if span < 1:
        raise ValueError(f"no pixel lies {margin} pixels in from the borders of {side}")
    images = np.zeros([count, side, side, 1], np.float32)
    for index in range(count):
        cell = (index * 5) % (span * span)  # 5 is prime to span^2 for the spans used here
        images[index, margin + cell // span, margin + cell % span] = 1.0
    return images


def displacement_statistics(impulses, corrupted) -> Dict[str, float]:
    """Where ``corrupted`` (the images of ``impulse_images`` under a corruption) holds the
    lit pixel's mass, relative to the pixel:

    - ``row_offset`` / ``col_offset``: the mean of the mass's mean offsets, and their spread
      between images (``*_between_sd``);
    - ``row_sd`` / ``col_sd``: the mass's spread along each axis, averaged;
    - ``rms_mean``, ``rms_q10``, ``rms_q50``, ``rms_q90``: the root mean square distance of
      the mass from the pixel, its mean and quantiles over the images.
    """
    impulses, corrupted = _as_batch(impulses, "impulses"), _as_batch(corrupted, "corrupted")
    mass = corrupted.mean(axis=-1)
    total = mass.sum(axis=(1, 2))
    if np.any(total <= 0):
        raise ValueError("a corrupted impulse image holds no mass")
    weights = mass / total[:, None, None]
    lit = np.argwhere(impulses[..., 0] == impulses[..., 0].max(axis=(1, 2))[:, None, None])
    _, first = np.unique(lit[:, 0], return_index=True)
    row0, col0 = lit[first, 1].astype(np.float64), lit[first, 2].astype(np.float64)
    rows = np.arange(mass.shape[1], dtype=np.float64)[None, :, None] - row0[:, None, None]
    cols = np.arange(mass.shape[2], dtype=np.float64)[None, None, :] - col0[:, None, None]
    row_mean = (weights * rows).sum(axis=(1, 2))
    col_mean = (weights * cols).sum(axis=(1, 2))
    row_var = (weights * (rows - row_mean[:, None, None]) ** 2).sum(axis=(1, 2))
    col_var = (weights * (cols - col_mean[:, None, None]) ** 2).sum(axis=(1, 2))
    rms = np.sqrt((weights * (rows**2 + cols**2)).sum(axis=(1, 2)))
    found = {
        "row_offset": float(row_mean.mean()),
        "col_offset": float(col_mean.mean()),
        "row_offset_between_sd": float(row_mean.std()),
        "col_offset_between_sd": float(col_mean.std()),
        "row_sd": float(np.sqrt(row_var).mean()),
        "col_sd": float(np.sqrt(col_var).mean()),
        "rms_mean": float(rms.mean()),
    }
    for q in QUANTILES:
        found[f"rms_q{round(q * 100)}"] = float(np.quantile(rms, q))
    return found
