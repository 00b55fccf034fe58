"""Recipe study, part 1: the recipes, the data (mnist_5k train/validation, never test) and
NSL training. See recipe_study.py."""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# isort: off
import robustfx  # noqa: F401  (pins Keras 2: must be imported before TensorFlow)
import tensorflow as tf
# isort: on

from robustfx.base.training_config import ModelConfig
from robustfx.data import prepare
from robustfx.trainer.model import build_cnn
from robustfx.trainer.nsl_compat import load_nsl

REPO = Path(__file__).resolve().parent.parent
IMAGE_KEY = "image"
LABEL_KEY = "label"
NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)

TRAIN_SIZE = 3600  # first digits of the train split; the rest validate
VAL_SIZE = 400
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
EPSILON = 0.2  # the L-infinity radius every robust figure uses
ATTACK_SEED = (1234, 5678)  # stateless seed of the attacks' random starts: same for all models

Arrays = Tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One training recipe.

    Attributes:
      name: short identifier, also the folder of the saved model.
      summary: what it is, in words.
      nsl: keyword arguments of ``nsl.configs.make_adv_reg_config``, or None for the plain
        baseline without adversarial regularization.
      clip: bound adversarial images to [0, 1] (keyed by feature, as NSL needs with dicts).
      epochs: total training epochs.
      clean_epochs: the first this many epochs train the base model alone, before it is
        wrapped (the warm-up NSL's maintainers suggest in neural-structured-learning #124).
    """

    name: str
    summary: str
    nsl: Optional[Mapping[str, Any]]
    clip: bool = False
    epochs: int = 5
    clean_epochs: int = 0

    @property
    def attack_steps(self) -> int:
        """k: the attack's gradient-sign steps per training step (NSL ``pgd_iterations``).

        The cost budget is k + 1 clean steps. NSL's loss is clean + multiplier * adversarial,
        so one training step costs about 1 (clean) + 1 (adversarial) passes plus one forward
        and backward per attack step; without ``random_init`` NSL takes its first attack step
        from the clean loss's gradient, which saves one of them.
        """
        if self.nsl is None:
            return 0
        return int(self.nsl.get("pgd_iterations", 1))

    def settings_text(self) -> str:
        """The NSL settings in short form, for the table."""
        if self.nsl is None:
            return "none (plain training)"
        short = {
            "multiplier": "mult",
            "adv_step_size": "step",
            "adv_grad_norm": "norm",
            "pgd_iterations": "iters",
            "pgd_epsilon": "eps",
            "random_init": "rand_init",
        }
        parts = [f"{short.get(key, key)} {value}" for key, value in self.nsl.items()]
        parts.append("clip [0,1]" if self.clip else "no clip")
        if self.clean_epochs:
            parts.append(f"{self.clean_epochs} clean epoch(s) first")
        return ", ".join(parts)


def nsl_pgd(iterations: int, step: float, random_init: bool = True) -> Dict[str, Any]:
    """NSL settings of an L-infinity PGD recipe in the epsilon ball, multiplier 1."""
    return dict(
        multiplier=1.0,
        adv_step_size=step,
        adv_grad_norm="infinity",
        pgd_iterations=iterations,
        pgd_epsilon=EPSILON,
        random_init=random_init,
    )


def default_recipes(epochs: int, long_epochs: Sequence[int]) -> List[Recipe]:
    """The recipes compared, in table order."""
    pgd3 = nsl_pgd(3, 0.1)
    pgd3_norand = nsl_pgd(3, 0.1, random_init=False)
    longer: List[Recipe] = []
    for n in long_epochs:
        longer += [
            Recipe(f"g_pgd2_{n}ep", f"PGD-2, {n} epochs", nsl_pgd(2, 0.1), True, n),
            Recipe(f"g_pgd3_{n}ep", f"PGD-3, {n} epochs", pgd3, True, n),
            Recipe(
                f"g_pgd3_norand_{n}ep",
                f"PGD-3 from the clean point, {n} epochs",
                pgd3_norand,
                True,
                n,
            ),
        ]
    return [
        Recipe(
            "a_tutorial",
            "NSL tutorial: FGSM from the clean point, no clip",
            dict(multiplier=0.2, adv_step_size=0.2, adv_grad_norm="infinity"),
            epochs=epochs,
        ),
        Recipe("b_fgsm_rs", "FGSM with random start (Wong et al. 2020)", nsl_pgd(1, 0.25),
               True, epochs),
        Recipe("c_pgd2", "PGD-2", nsl_pgd(2, 0.1), True, epochs),
        Recipe("d_pgd3", "PGD-3", pgd3, True, epochs),
        Recipe("e1_pgd3_warmup", "PGD-3 after one clean epoch (NSL #124)", pgd3, True, epochs,
               clean_epochs=1),
        Recipe("e2_pgd3_step008", "PGD-3, smaller step 0.08", nsl_pgd(3, 0.08), True, epochs),
        Recipe("f_baseline", "plain training, no adversarial regularization", None,
               epochs=epochs),
        Recipe("h_pgd3_norand", "PGD-3 from the clean point (first step reuses the clean "
               "gradient: fits the k+1 budget)", pgd3_norand, True, epochs),
        Recipe("h_pgd4_norand", "PGD-4 from the clean point",
               nsl_pgd(4, 0.1, random_init=False), True, epochs),
        *longer,
    ]  # fmt: skip


# ----------------------------------------------------------------------------- data


def load_train_validation() -> Tuple[Arrays, Arrays]:
    """(train, validation) as float32 images in [0, 1] and int64 labels; never the test split.

    mnist_5k 1.1.0 has its own validation split: the digits that were the last 400 of
    1.0.0's 4,000-digit train split, whose first 3,600 are the new train split. Both
    versions of ``split_mnist_5k`` therefore give this study the same digits. The test split
    it also returns is dropped here, unread.
    """
    images, labels = prepare.load_mnist_5k()
    splits = prepare.split_mnist_5k(images, labels)
    if "validation" in splits:
        (x, y), (x_val, y_val) = splits["train"], splits["validation"]
    else:  # mnist_5k 1.0.0: carve validation out of the train split
        x_all, y_all = splits["train"]
        x, y, x_val, y_val = (
            x_all[:TRAIN_SIZE],
            y_all[:TRAIN_SIZE],
            x_all[TRAIN_SIZE:],
            y_all[TRAIN_SIZE:],
        )
    for name, (split_x, split_y), size in (
        ("train", (x, y), TRAIN_SIZE),
        ("validation", (x_val, y_val), VAL_SIZE),
    ):
        if (
            split_x.shape != (size, *INPUT_SHAPE)
            or split_x.dtype != np.uint8
            or split_y.shape != (size,)
        ):
            raise ValueError(
                f"{name} is {split_x.shape} {split_x.dtype} / {split_y.shape}: "
                f"expected {size} digits"
            )
    return (
        (x.astype(np.float32) / 255.0, y.astype(np.int64)),
        (x_val.astype(np.float32) / 255.0, y_val.astype(np.int64)),
    )


def make_dataset(train: Arrays, seed: int, as_dict: bool) -> tf.data.Dataset:
    """Shuffled batches: dicts {'image', 'label'} for the NSL wrapper, (x, y) tuples else.

    Batches are full (``drop_remainder``): NSL 1.4's ``random_init`` draws its start with
    ``tf.random.uniform(t.shape)`` and fails on the unknown batch size of a partial batch.
    Every recipe gets the same batches (3,600 digits: 112 steps an epoch, a different 16 left
    out each epoch by the reshuffle).
    """
    x, y = train
    data = tf.data.Dataset.from_tensor_slices({IMAGE_KEY: x, LABEL_KEY: y})
    data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(BATCH_SIZE, drop_remainder=True)
    if not as_dict:
        data = data.map(lambda batch: (batch[IMAGE_KEY], batch[LABEL_KEY]))
    return data.prefetch(2)


# ------------------------------------------------------------------------------ models


def compile_model(model: tf.keras.Model) -> None:
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def new_base_model(seed: int) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    return build_cnn(ModelConfig(), INPUT_SHAPE, NUM_CLASSES)


def wrap(base: tf.keras.Model, recipe: Recipe) -> tf.keras.Model:
    """The NSL wrapper for an adversarial recipe (not for the baseline)."""
    assert recipe.nsl is not None
    nsl = load_nsl()
    kwargs = dict(recipe.nsl)
    if recipe.clip:
        # Keyed by feature: with dict inputs NSL silently ignores scalar bounds.
        kwargs.update(clip_value_min={IMAGE_KEY: 0.0}, clip_value_max={IMAGE_KEY: 1.0})
    adv_config = nsl.configs.make_adv_reg_config(**kwargs)
    return nsl.keras.AdversarialRegularization(base, label_keys=[LABEL_KEY], adv_config=adv_config)


class EpochLine(tf.keras.callbacks.Callback):
    """Prints one short line per epoch, so a long run can be followed in its log."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.started = 0.0
        self.seconds: List[float] = []

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = logs or {}
        shown = " ".join(
            f"{key}={value:.4f}" for key, value in sorted(logs.items()) if "loss" in key
        )
        seconds = time.perf_counter() - self.started
        self.seconds.append(seconds)
        print(f"    {self.label} epoch {epoch + 1}: {shown} ({seconds:.1f} s)", flush=True)


def train(recipe: Recipe, train_data: Arrays, seed: int) -> Tuple[tf.keras.Model, float, float]:
    """Trains a fresh base model with the recipe.

    Returns (base model, wall seconds of the ``fit`` calls, sum of the epochs' seconds).
    """
    gc.collect()  # the previous recipe's graphs, so their clean-up is not timed here
    base = new_base_model(seed)
    epoch_lines: List[EpochLine] = []
    started = time.perf_counter()
    if recipe.nsl is None or recipe.clean_epochs:
        compile_model(base)
        epochs = recipe.epochs if recipe.nsl is None else recipe.clean_epochs
        epoch_lines.append(EpochLine(f"{recipe.name} (clean)"))
        base.fit(
            make_dataset(train_data, seed, as_dict=False),
            epochs=epochs,
            verbose=0,
            callbacks=epoch_lines[-1:],
        )
    if recipe.nsl is not None:
        adv_model = wrap(base, recipe)
        compile_model(adv_model)
        epoch_lines.append(EpochLine(f"{recipe.name} (adversarial)"))
        adv_model.fit(
            make_dataset(train_data, seed + 1 if recipe.clean_epochs else seed, as_dict=True),
            epochs=recipe.epochs - recipe.clean_epochs,
            verbose=0,
            callbacks=epoch_lines[-1:],
        )
    fit_seconds = time.perf_counter() - started
    return base, fit_seconds, sum(sum(line.seconds) for line in epoch_lines)
