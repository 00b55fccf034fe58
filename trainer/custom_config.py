"""What the pipeline hands the module code: the JSON ``custom_config`` of Transform and of
the Trainer, and the step counts, computed without importing TensorFlow so that building
the graph stays light."""

import math
from typing import Any, Dict, Optional, Sequence

from robustfx.base.serialization import to_dict
from robustfx.base.training_config import AdversarialConfig, ModelConfig, TrainingConfig
from robustfx.base.validation import ConfigError

# The share of train held out for validation when a dataset has no validation split.
HOLDOUT_FRACTION = 0.1


def output_image_shape(
    image_shape: Sequence[Optional[int]], resize: Optional[Sequence[int]]
) -> list:
    """The (height, width, channels) that Transform emits."""
    height, width, channels = image_shape
    if resize:
        height, width = resize
    if not height or not width or not channels:
        raise ConfigError(
            f"image shape {list(image_shape)} has unknown sides: set resize (--resize HxW) "
            "so every image gets the same shape"
        )
    return [int(height), int(width), int(channels)]


def trainer_custom_config(
    model: ModelConfig,
    adversarial: AdversarialConfig,
    training: TrainingConfig,
    image_shape: Sequence[int],
    num_classes: int,
    holdout_fraction: float = 0.0,
) -> Dict[str, Any]:
    """The JSON-ready ``custom_config`` that ``run_fn`` reads back.

    Args:
      holdout_fraction: when > 0 the dataset has no validation split, and ``run_fn`` keeps
        this fraction of the train split apart (by a hash of each image) to validate on.
    """
    return {
        "holdout_fraction": float(holdout_fraction),
        "model": to_dict(model),
        "adversarial": to_dict(adversarial),
        "training": to_dict(training),
        "image_shape": [int(side) for side in image_shape],
        "num_classes": int(num_classes),
    }


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Batches in one pass over ``num_examples`` (the last partial batch counts)."""
    return max(1, math.ceil(num_examples / batch_size))


def transform_custom_config(
    image_shape: Sequence[Optional[int]], num_classes: int, resize: Optional[Sequence[int]]
) -> Dict[str, Any]:
    """What ``preprocessing_fn`` reads: image shape and classes from the TFDS metadata."""
    return {
        "image_shape": list(image_shape),
        "num_classes": int(num_classes),
        "resize": list(resize) if resize else None,
    }
