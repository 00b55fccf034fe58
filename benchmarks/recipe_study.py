"""Recipe study: which NSL adversarial-training recipe should be the project's default?

Trains the project's CNN (``build_cnn(ModelConfig(), (28, 28, 1), 10)``: conv 32/64/64,
dense 64) inside ``nsl.keras.AdversarialRegularization`` with several recipes, and scores each
on a *validation* split carved out of the mnist_5k train split. The test split is never
read: choosing a default on it would leave no honest estimate for the gate later.

Data: the first 3,600 digits of the train split train, its last 400 validate. Pixels / 255.
Training: batch 32, Adam 1e-3, seed 42 (``tf.keras.utils.set_random_seed`` before each model
is built, so every recipe starts from the same weights and sees the same shuffles).

Scores, per recipe, on the 400 validation digits (white-box, L-infinity, epsilon 0.2, images
kept in [0, 1]); all robust figures also count a digit as broken when it is misclassified
clean:
  * clean accuracy;
  * PGD-20 and PGD-50 on cross-entropy, uniform random start, step 2.5 * epsilon / steps,
    best iterate per example: a digit is broken if *any* iterate (random start included)
    is misclassified;
  * worst case = correct under both PGD-20 and PGD-50 (the figure the brief asks for);
  * CW-50, an extra check: PGD-50 on the logit margin (max wrong logit - true logit), the
    loss that AutoAttack's DLR attack builds on; "worst + CW" is correct under all three.

Cost, per recipe: the mean wall time of one adversarial training step against one clean
step of the same CNN on the same batch, measured side by side in this process (steps
alternate, after a warm-up), on fresh models so the trained ones are not disturbed.

Outputs (under --out, default runs/recipe_study/):
  <recipe>/            the trained base model, TF SavedModel format (``base_model.save``)
  results.json         every figure, the settings and the environment
  results.md           the table

Run from the repository root, one process at a time and niced on a shared machine::

  nice -n 10 .venv/bin/python benchmarks/recipe_study.py
  nice -n 10 .venv/bin/python benchmarks/recipe_study.py --recipes d_pgd3 f_baseline
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# isort: off
import robustfx  # noqa: F401  (pins Keras 2: must be imported before TensorFlow)
import tensorflow as tf
# isort: on

from robustfx.base.training_config import ModelConfig
from robustfx.pipeline.data import prepare_data
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


def _pgd(iterations: int, step: float, random_init: bool = True) -> Dict[str, Any]:
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
    pgd3 = _pgd(3, 0.1)
    pgd3_norand = _pgd(3, 0.1, random_init=False)
    longer: List[Recipe] = []
    for n in long_epochs:
        longer += [
            Recipe(f"g_pgd2_{n}ep", f"PGD-2, {n} epochs", _pgd(2, 0.1), True, n),
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
        Recipe("b_fgsm_rs", "FGSM with random start (Wong et al. 2020)", _pgd(1, 0.25), True,
               epochs),
        Recipe("c_pgd2", "PGD-2", _pgd(2, 0.1), True, epochs),
        Recipe("d_pgd3", "PGD-3", pgd3, True, epochs),
        Recipe("e1_pgd3_warmup", "PGD-3 after one clean epoch (NSL #124)", pgd3, True, epochs,
               clean_epochs=1),
        Recipe("e2_pgd3_step008", "PGD-3, smaller step 0.08", _pgd(3, 0.08), True, epochs),
        Recipe("f_baseline", "plain training, no adversarial regularization", None,
               epochs=epochs),
        Recipe("h_pgd3_norand", "PGD-3 from the clean point (first step reuses the clean "
               "gradient: fits the k+1 budget)", pgd3_norand, True, epochs),
        Recipe("h_pgd4_norand", "PGD-4 from the clean point", _pgd(4, 0.1, random_init=False),
               True, epochs),
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
    images, labels = prepare_data.load_mnist_5k()
    splits = prepare_data.split_mnist_5k(images, labels)
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


# ----------------------------------------------------------------------------- attacks


def cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    return tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def margin_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """max wrong logit - true logit: positive exactly when the example is misclassified."""
    true_mask = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
    true_logit = tf.reduce_sum(logits * true_mask, axis=-1)
    wrong_logit = tf.reduce_max(logits - 1e9 * true_mask, axis=-1)
    return wrong_logit - true_logit


LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def make_pgd(
    model: tf.keras.Model, epsilon: float, steps: int, loss_fn: LossFn
) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """White-box L-infinity PGD with a uniform random start, keeping the best iterate.

    Returns a function (images, labels) -> bool per example: True if the model classifies
    the clean image and *every* iterate (the random start and each of ``steps`` steps)
    correctly, i.e. the attack found no adversarial example. Step size 2.5 * epsilon / steps.
    """
    step_size = 2.5 * epsilon / steps

    def correct(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        logits = model(images, training=False)
        return tf.equal(tf.argmax(logits, axis=-1, output_type=labels.dtype), labels)

    @tf.function
    def attack(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        lower = tf.maximum(images - epsilon, 0.0)
        upper = tf.minimum(images + epsilon, 1.0)
        start = tf.random.stateless_uniform(
            tf.shape(images), seed=ATTACK_SEED, minval=-epsilon, maxval=epsilon
        )
        robust = correct(images, labels)

        def body(
            step: tf.Tensor, adv: tf.Tensor, robust: tf.Tensor
        ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                tape.watch(adv)
                logits = model(adv, training=False)
                loss = tf.reduce_sum(loss_fn(labels, logits))  # inside the tape, or no gradient
            hit = tf.not_equal(tf.argmax(logits, axis=-1, output_type=labels.dtype), labels)
            robust = tf.logical_and(robust, tf.logical_not(hit))
            grad = tape.gradient(loss, adv)
            adv = tf.clip_by_value(adv + step_size * tf.sign(grad), lower, upper)
            return step + 1, adv, robust

        _, adv, robust = tf.while_loop(
            lambda step, adv, robust: step < steps,
            body,
            (tf.constant(0), tf.clip_by_value(images + start, lower, upper), robust),
        )
        return tf.logical_and(robust, correct(adv, labels))  # the last iterate too

    return attack


def evaluate(model: tf.keras.Model, validation: Arrays) -> Dict[str, float]:
    """Clean and robust accuracy on the validation digits (see the module docstring)."""
    x = tf.constant(validation[0])
    y = tf.constant(validation[1])
    logits = model(x, training=False)
    clean = tf.equal(tf.argmax(logits, axis=-1, output_type=y.dtype), y).numpy()
    pgd20 = make_pgd(model, EPSILON, 20, cross_entropy)(x, y).numpy()
    pgd50 = make_pgd(model, EPSILON, 50, cross_entropy)(x, y).numpy()
    cw50 = make_pgd(model, EPSILON, 50, margin_loss)(x, y).numpy()
    worst = pgd20 & pgd50
    return {
        "clean": float(clean.mean()),
        "pgd20": float(pgd20.mean()),
        "pgd50": float(pgd50.mean()),
        "worst_case": float(worst.mean()),
        "cw50": float(cw50.mean()),
        "worst_with_cw": float((worst & cw50).mean()),
    }


# ------------------------------------------------------------------------------ timing


def time_steps(recipe: Recipe, train_data: Arrays, seed: int, steps: int) -> Dict[str, float]:
    """Mean seconds of one training step of the recipe and of plain training, side by side.

    Both use fresh models and the same batch; the steps alternate (adversarial, clean, ...)
    after a warm-up, so load from other work on the machine hits both alike.
    """
    x, y = train_data[0][:BATCH_SIZE], train_data[1][:BATCH_SIZE]
    batch = {IMAGE_KEY: tf.constant(x), LABEL_KEY: tf.constant(y)}
    clean_model = new_base_model(seed)
    compile_model(clean_model)
    clean_fn = clean_model.make_train_function()
    clean_iter = iter(tf.data.Dataset.from_tensors((batch[IMAGE_KEY], batch[LABEL_KEY])).repeat())
    if recipe.nsl is None:
        model, data = new_base_model(seed), (batch[IMAGE_KEY], batch[LABEL_KEY])
    else:
        model, data = wrap(new_base_model(seed), recipe), batch
    compile_model(model)
    train_fn = model.make_train_function()
    train_iter = iter(tf.data.Dataset.from_tensors(data).repeat())

    def one_step(function: Callable, iterator: Any) -> float:
        started = time.perf_counter()
        logs = function(iterator)
        float(logs["loss"])  # waits for the step to finish
        return time.perf_counter() - started

    for _ in range(10):  # trace and warm up
        one_step(train_fn, train_iter)
        one_step(clean_fn, clean_iter)
    adv_times, clean_times = [], []
    for _ in range(steps):
        adv_times.append(one_step(train_fn, train_iter))
        clean_times.append(one_step(clean_fn, clean_iter))
    adv, clean = float(np.mean(adv_times)), float(np.mean(clean_times))
    return {
        "step_ms": 1000 * adv,
        "clean_step_ms": 1000 * clean,
        "step_ratio": adv / clean,
        "step_ratio_median": float(np.median(adv_times) / np.median(clean_times)),
        "timed_steps": steps,
    }


def warm_up_process(train_data: Arrays, seed: int) -> None:
    """Pays TensorFlow's and NSL's one-time start-up costs before anything is timed.

    Without it the first recipe's training wall time carries some ten seconds that no other
    recipe pays.
    """
    recipe = Recipe("warm_up", "", _pgd(1, 0.1), clip=True)
    model = wrap(new_base_model(seed), recipe)
    compile_model(model)
    x, y = train_data[0][: 2 * BATCH_SIZE], train_data[1][: 2 * BATCH_SIZE]
    model.fit(make_dataset((x, y), seed, as_dict=True), epochs=1, verbose=0)


# ----------------------------------------------------------------------------- reports


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def markdown_table(rows: Sequence[Mapping[str, Any]], header_note: str) -> str:
    lines = [
        "# Recipe study on mnist_5k's 400 validation digits (1.0.0: the train split's last 400)",
        "",
        header_note,
        "",
        "| recipe | NSL settings | epochs | clean | PGD-20 | PGD-50 | worst case | CW-50 "
        "| worst + CW | adv step | clean step | step ratio (budget k+1) "
        "| training wall time (epochs only) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        k = row["attack_steps"]
        budget = f"{k + 1}" if k else "-"
        lines.append(
            f"| {row['recipe']} | {row['settings']} | {row['epochs']} "
            f"| {percent(row['clean'])} | {percent(row['pgd20'])} | {percent(row['pgd50'])} "
            f"| **{percent(row['worst_case'])}** | {percent(row['cw50'])} "
            f"| {percent(row['worst_with_cw'])} | {row['step_ms']:.1f} ms "
            f"| {row['clean_step_ms']:.1f} ms | {row['step_ratio']:.2f} ({budget}) "
            f"| {row['train_seconds']:.0f} s ({row.get('epoch_seconds', float('nan')):.0f} s) |"
        )
    return "\n".join(lines) + "\n"


def write_reports(out: Path, rows: List[Dict[str, Any]], meta: Dict[str, Any]) -> None:
    note = (
        f"L-infinity epsilon {EPSILON}, white-box, best iterate, random start; robust figures "
        "also count clean mistakes as broken. Worst case = correct under both PGD-20 and "
        "PGD-50 (cross-entropy). CW-50 = PGD-50 on the logit margin. 400 digits: one "
        "standard error is about 2 points at 80%. Step times are means over "
        f"{meta['timed_steps']} alternating steps (batch {BATCH_SIZE}); budget k+1 with k = NSL "
        "pgd_iterations. Seed "
        f"{meta['seed']}; generated {meta['finished']} on {meta['cpus']} CPU(s)."
    )
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    (out / "results.md").write_text(markdown_table(rows, note))


# -------------------------------------------------------------------------------- main


def run_recipe(
    recipe: Recipe, train_data: Arrays, validation: Arrays, out: Path, seed: int, steps: int
) -> Dict[str, Any]:
    base, train_seconds, epoch_seconds = train(recipe, train_data, seed)
    scores = evaluate(base, validation)
    model_dir = out / recipe.name
    if model_dir.exists():
        shutil.rmtree(model_dir)
    base.save(str(model_dir), save_format="tf")
    timing = time_steps(recipe, train_data, seed, steps)
    return {
        "recipe": recipe.name,
        "summary": recipe.summary,
        "settings": recipe.settings_text(),
        "nsl_config": dict(recipe.nsl) if recipe.nsl is not None else None,
        "clip": recipe.clip,
        "epochs": recipe.epochs,
        "clean_epochs": recipe.clean_epochs,
        "attack_steps": recipe.attack_steps,
        "train_seconds": train_seconds,
        "epoch_seconds": epoch_seconds,
        "measured": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        **scores,
        **timing,
        "model_dir": str(model_dir),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "recipe_study")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of the a_ to f_ recipes.")
    parser.add_argument(
        "--long-epochs", type=int, nargs="*", default=[10, 15], help="Epochs of the g_ recipes."
    )
    parser.add_argument("--timed-steps", type=int, default=60)
    parser.add_argument(
        "--recipes", nargs="*", default=None, help="Names to run (default: all, in order)."
    )
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="Train nothing: summarize --out/results.json and --out/seed*/results.json "
        "(runs with other --seed values) over seeds into --out/seeds.{json,md}.",
    )
    return parser.parse_args()


def previous_rows(out: Path, seed: int) -> List[Dict[str, Any]]:
    """Rows of an earlier run into the same folder with the same seed, kept unless re-run."""
    path = out / "results.json"
    if not path.exists():
        return []
    previous = json.loads(path.read_text())
    return list(previous["results"]) if previous["meta"].get("seed") == seed else []


def summarize_seeds(out: Path) -> None:
    """Mean and range over seeds of each recipe run with more than one seed."""
    runs = [out / "results.json", *sorted(out.glob("seed*/results.json"))]
    by_recipe: Dict[str, List[Dict[str, Any]]] = {}
    for path in runs:
        if path.exists():
            for row in json.loads(path.read_text())["results"]:
                by_recipe.setdefault(row["recipe"], []).append(row)
    fields = ("clean", "worst_case", "worst_with_cw", "step_ratio", "train_seconds")
    summary: List[Dict[str, Any]] = []
    for name, rows in by_recipe.items():
        if len(rows) < 2:
            continue
        entry: Dict[str, Any] = {"recipe": name, "settings": rows[0]["settings"]}
        entry["epochs"] = rows[0]["epochs"]
        entry["seeds"] = len(rows)
        for field in fields:
            values = [float(row[field]) for row in rows]
            entry[field] = {"mean": float(np.mean(values)), "min": min(values), "max": max(values)}
        summary.append(entry)
    (out / "seeds.json").write_text(json.dumps(summary, indent=2))

    def cell(entry: Dict[str, Any], field: str, show: Callable[[float], str]) -> str:
        value = entry[field]
        return f"{show(value['mean'])} ({show(value['min'])}-{show(value['max'])})"

    def ratio(value: float) -> str:
        return f"{value:.2f}"

    def seconds(value: float) -> str:
        return f"{value:.0f} s"

    lines = [
        "# Recipe study over seeds: mean (min-max) on the 400 validation digits",
        "",
        "| recipe | epochs | seeds | clean | worst case (PGD-20 & PGD-50) | worst + CW-50 "
        "| step ratio | training wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        lines.append(
            f"| {entry['recipe']} | {entry['epochs']} | {entry['seeds']} "
            f"| {cell(entry, 'clean', percent)} | {cell(entry, 'worst_case', percent)} "
            f"| {cell(entry, 'worst_with_cw', percent)} | {cell(entry, 'step_ratio', ratio)} "
            f"| {cell(entry, 'train_seconds', seconds)} |"
        )
    (out / "seeds.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'seeds.md'} ({len(summary)} recipes)", flush=True)


def main() -> None:
    args = parse_args()
    if args.summarize:
        summarize_seeds(args.out)
        return
    recipes = default_recipes(args.epochs, args.long_epochs)
    order = {recipe.name: index for index, recipe in enumerate(recipes)}
    if args.recipes:
        unknown = set(args.recipes) - {recipe.name for recipe in recipes}
        if unknown:
            raise SystemExit(f"unknown recipes: {sorted(unknown)}")
        recipes = [recipe for recipe in recipes if recipe.name in args.recipes]
    args.out.mkdir(parents=True, exist_ok=True)
    train_data, validation = load_train_validation()
    meta: Dict[str, Any] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "seed": args.seed,
        "train_digits": len(train_data[1]),
        "validation_digits": len(validation[1]),
        "validation_source": "mnist_5k validation split (1.0.0: train split positions 3600-3999); "
        "test split unused",
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "epsilon": EPSILON,
        "timed_steps": args.timed_steps,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }
    print(
        f"recipe study: {len(recipes)} recipes, train {meta['train_digits']}, "
        f"validation {meta['validation_digits']}, out {args.out}",
        flush=True,
    )
    warm_up_process(train_data, args.seed)
    rows = previous_rows(args.out, args.seed)
    for index, recipe in enumerate(recipes, 1):
        print(f"[{index}/{len(recipes)}] {recipe.name}: {recipe.settings_text()}", flush=True)
        row = run_recipe(recipe, train_data, validation, args.out, args.seed, args.timed_steps)
        rows = [old for old in rows if old["recipe"] != recipe.name] + [row]
        rows.sort(key=lambda row: order.get(row["recipe"], len(order)))
        meta["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_reports(args.out, rows, meta)  # after every recipe, so a crash keeps the rest
        print(
            f"[{index}/{len(recipes)}] {recipe.name}: clean {percent(row['clean'])}, "
            f"PGD-20 {percent(row['pgd20'])}, PGD-50 {percent(row['pgd50'])}, "
            f"worst {percent(row['worst_case'])}, worst+CW {percent(row['worst_with_cw'])}; "
            f"step {row['step_ms']:.1f} ms vs clean {row['clean_step_ms']:.1f} ms "
            f"(x{row['step_ratio']:.2f}); trained in {row['train_seconds']:.0f} s",
            flush=True,
        )
    print(f"wrote {args.out / 'results.md'} and results.json", flush=True)


if __name__ == "__main__":
    main()
