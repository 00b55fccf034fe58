"""Beans-format data without a download, for tests and dry runs.

TFDS ``beans`` is 500x500x3 JPEG leaf photos in 3 classes with train/validation/test splits.
This writes a small dataset with exactly that feature spec, class names and split names,
through the same TFDS writer, so the ``beans`` preset runs end to end offline. The images are
synthetic leaves (a green disc with class-dependent lesions), learnable but not real: real
results need ``tfds build beans`` on a networked machine.
"""

from typing import Dict

import numpy as np

from robustfx.data.metadata import DatasetInfo
from robustfx.data.prepare import write_image_dataset

BEANS_CLASSES = ("angular_leaf_spot", "bean_rust", "healthy")
BEANS_SHAPE = (500, 500, 3)
BEANS_VERSION = "0.1.0"  # TFDS beans' version


def _leaf(rng: np.random.RandomState, label: int) -> np.ndarray:
    height, width, _ = BEANS_SHAPE
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.zeros(BEANS_SHAPE, np.float32) + rng.uniform(180, 230, size=3)  # background
    center = rng.uniform(200, 300, size=2)
    leaf = (rows - center[0]) ** 2 + (cols - center[1]) ** 2 < rng.uniform(150, 190) ** 2
    image[leaf] = [40 + rng.uniform(0, 30), 120 + rng.uniform(0, 50), 40]
    if label != 2:  # angular spots are large and brown; rust is many small orange dots
        count, radius = (6, 22) if label == 0 else (40, 7)
        color = [110, 70, 30] if label == 0 else [200, 110, 30]
        for _ in range(count):
            spot = center + rng.uniform(-120, 120, size=2)
            mask = (rows - spot[0]) ** 2 + (cols - spot[1]) ** 2 < radius**2
            image[mask & leaf] = color
    image += rng.normal(0, 6, size=BEANS_SHAPE)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_synthetic_beans(
    data_dir: str, examples_per_split: Dict[str, int], seed: int = 0
) -> DatasetInfo:
    """Writes ``beans`` (JPEG, 500x500x3, 3 classes) with the given split sizes."""
    rng = np.random.RandomState(seed)
    splits = {}
    for split, count in examples_per_split.items():
        labels = np.arange(count) % len(BEANS_CLASSES)
        images = np.stack([_leaf(rng, int(label)) for label in labels])
        splits[split] = (images, labels)
    return write_image_dataset(
        "beans",
        BEANS_VERSION,
        splits,
        class_names=BEANS_CLASSES,
        data_dir=data_dir,
        encoding_format="jpeg",
        description="Synthetic beans-format leaves written by robustfx for offline tests.",
    )
