"""Recipe study, part 2: scoring a trained model on validation (PGD-20, PGD-50, CW-50,
written apart from the project's attack code) and timing a training step against a clean
one. See recipe_study.py."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Tuple

import numpy as np

# isort: off
import robustfx  # noqa: F401  (pins Keras 2: must be imported before TensorFlow)
import tensorflow as tf
# isort: on


from recipe_training import (  # noqa: E402
    ATTACK_SEED,
    BATCH_SIZE,
    EPSILON,
    IMAGE_KEY,
    LABEL_KEY,
    Arrays,
    Recipe,
    compile_model,
    make_dataset,
    new_base_model,
    nsl_pgd,
    wrap,
)  # fmt: skip

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
    recipe = Recipe("warm_up", "", nsl_pgd(1, 0.1), clip=True)
    model = wrap(new_base_model(seed), recipe)
    compile_model(model)
    x, y = train_data[0][: 2 * BATCH_SIZE], train_data[1][: 2 * BATCH_SIZE]
    model.fit(make_dataset((x, y), seed, as_dict=True), epochs=1, verbose=0)
