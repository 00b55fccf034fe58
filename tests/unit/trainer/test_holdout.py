"""The validation hold-out carved from train when a dataset has no validation split: the
same examples every epoch and run whatever the shuffling, disjoint from training, about the
asked fraction."""

import numpy as np
import tensorflow as tf

from robustfx.trainer.input_pipeline import split_by_hash


def _dataset(images, labels, shuffle_seed=None):
    dataset = tf.data.Dataset.from_tensor_slices(({"image": images}, labels))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(labels), seed=shuffle_seed)
    return dataset.batch(32)


def _ids(dataset):
    return sorted(int(label) for _, labels in dataset for label in labels.numpy())


def test_holdout_is_deterministic_disjoint_and_about_the_fraction():
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(2000, 6, 6, 1)).astype(np.float32)
    ids = np.arange(2000)  # the label doubles as an example id here
    held = _ids(split_by_hash(_dataset(images, ids), 0.1, holdout=True, batch_size=1))
    kept = _ids(split_by_hash(_dataset(images, ids), 0.1, holdout=False, batch_size=1))
    assert not set(held) & set(kept) and len(held) + len(kept) == 2000
    assert 150 <= len(held) <= 250
    shuffled = split_by_hash(_dataset(images, ids, shuffle_seed=7), 0.1, True, 1)
    assert _ids(shuffled) == held


def test_holdout_batches_have_a_static_size():
    """NSL's random start needs the batch dimension known at trace time."""
    images = np.zeros((100, 6, 6, 1), np.float32)
    batched = split_by_hash(_dataset(images, np.arange(100)), 0.5, False, 8)
    assert batched.element_spec[0]["image"].shape.as_list() == [8, 6, 6, 1]
