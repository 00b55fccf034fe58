"""One golden image per MNIST-C corruption, for the tests to compare the project with.

Each file ``<corruption>.npz`` holds one mnist_5k test digit (``clean``, uint8), the
corruption's ``severity`` (the project's) and ``expected`` (float32 in [0, 1]):

- ``source`` "reference": the published code's output, with numpy's global generator seeded
  by ``seed`` just before. Its draws are numpy's legacy ``RandomState`` stream, the same in
  every numpy version, so a test replays them and hands them to the project's functions
  (the rows of a zigzag, the swaps of glass blur, the plasma's draws, a sign, an angle).
- ``source`` "project": the project's own output (``registry.apply``), for the corruptions
  whose per-pixel draws numpy's algorithms make (Poisson counts, skimage's salt and pepper,
  a Gaussian liquid layer): their match with the reference is held by the statistics.
"""

import os

import numpy as np

# (corruption, project severity, reference severity or None): the dataset's severity where
# MNIST-C's table has one (glass blur at 4, where the published code differs most from a
# one-gather shuffle), the project's equal of the single setting otherwise.
GOLDEN = (
    ("shot_noise", 5, 5),
    ("impulse_noise", 4, 4),
    ("glass_blur", 4, 4),
    ("motion_blur", 1, 1),
    ("shear", 2, 2),
    ("scale", 3, 3),
    ("rotate", 2, 2),
    ("brightness", 5, 5),
    ("translate", 3, 3),
    ("stripe", 3, None),
    ("fog", 5, 5),
    ("spatter", 4, 4),
    ("dotted_line", 3, None),
    ("zigzag", 3, None),
    ("canny_edges", 5, None),
)
FROM_PROJECT = ("shot_noise", "impulse_noise", "spatter")


def write_all(reference, folder: str, digits: np.ndarray, seed_of) -> None:
    """Writes ``folder``/<corruption>.npz for every golden row; digit i for row i."""
    from PIL import Image

    from robustfx.robustness.corruptions.registry import apply

    os.makedirs(folder, exist_ok=True)
    for index, (name, severity, ref_severity) in enumerate(GOLDEN):
        digit = digits[index]
        seed = seed_of(name, "golden")
        if name in FROM_PROJECT:
            clean = digit[None, ..., None].astype(np.float32) / 255.0
            expected, source = apply(name, clean, severity).numpy()[0, ..., 0], "project"
        else:
            function = getattr(reference, name)
            np.random.seed(seed)
            image = Image.fromarray(digit)
            value = function(image) if ref_severity is None else function(image, ref_severity)
            expected = np.clip(np.asarray(value, np.float64) / 255.0, 0, 1)
            source = "reference"
        np.savez_compressed(
            os.path.join(folder, f"{name}.npz"),
            clean=digit,
            expected=expected.astype(np.float32),
            severity=severity,
            seed=seed,
            source=source,
        )
