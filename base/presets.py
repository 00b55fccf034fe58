"""Named presets reproducing the two write-ups the project grew from.

* ``mnist``: TensorFlow's NSL adversarial-learning tutorial (its ``HParams``).
* ``beans``: the article on the beans leaf dataset. The article scales pixels by /500, which
  is a bug (8-bit pixels top out at 255); the preset, like all of robustfx, divides by 255.

A preset fills the model, training and adversarial configs; explicit flags still win.
"""

import dataclasses
from typing import Dict, Optional, Tuple

from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.training_config import (
    TUTORIAL_ADVERSARIAL,
    AdversarialConfig,
    ModelConfig,
    TrainingConfig,
)
from robustfx.base.validation import ConfigError


@dataclasses.dataclass(frozen=True)
class Preset:
    """A write-up's settings."""

    dataset: str
    model: ModelConfig
    training: TrainingConfig
    adversarial: AdversarialConfig
    resize: Optional[Tuple[int, int]] = None
    # Examples per attack batch, when the images are too large for the default batch.
    eval_batch_size: Optional[int] = None
    description: str = ""


# PGD adversarial training, a row of `robustfx compare`: the tutorial's settings with 5
# projected steps of 0.05 inside an L-infinity ball of 0.2 (NSL's pgd_iterations/pgd_epsilon).
PGD_TRAINING = dataclasses.replace(
    TUTORIAL_ADVERSARIAL, adv_step_size=0.05, pgd_iterations=5, pgd_epsilon=0.2
)


PRESETS: Dict[str, Preset] = {
    "mnist": Preset(
        dataset="mnist_5k",
        model=ModelConfig(conv_filters=(32, 64, 64), kernel_size=3, pool_size=2, dense_units=64),
        training=TrainingConfig(epochs=5, batch_size=32),
        adversarial=TUTORIAL_ADVERSARIAL,
        description="NSL tutorial: conv 32/64/64, dense 64, batch 32, 5 epochs, "
        "multiplier 0.2, step 0.2, L-infinity",
    ),
    "beans": Preset(
        dataset="beans",
        model=ModelConfig(
            conv_filters=(16, 32, 32),
            kernel_size=3,
            pool_size=2,
            pool_after_last_conv=True,
            dense_units=64,
        ),
        training=TrainingConfig(epochs=5, batch_size=28),
        adversarial=TUTORIAL_ADVERSARIAL,
        # A 500x500x3 image under attack holds about 90 MiB (activations and the attack's
        # copies of it): 16 at a time keep the attack suite near 3 GiB.
        eval_batch_size=16,
        description="beans article: 500x500x3, conv 16/32/32 each pooled, dense 64, batch 28, "
        "5 epochs, multiplier 0.2, step 0.2, L-infinity; pixels /255 (the article's /500 is "
        "a bug)",
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"preset {name!r} is unknown: use one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def with_preset(config: RunConfig, name: Optional[str]) -> RunConfig:
    """``config`` with a preset's dataset, model, training and adversarial settings."""
    if not name:
        return config
    preset = get_preset(name)
    return dataclasses.replace(
        config,
        data=DataConfig(dataset=preset.dataset, resize=preset.resize),
        model=preset.model,
        training=preset.training,
        adversarial=preset.adversarial,
        evaluation=dataclasses.replace(
            config.evaluation,
            batch_size=preset.eval_batch_size or config.evaluation.batch_size,
        ),
        pipeline_name="",
        pipeline_root="",
        serving_dir="",
    )
