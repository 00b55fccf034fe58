"""Runs the attack an ``AttackConfig`` names: FGSM, PGD, APGD (CE, DLR, targeted DLR) or
Square, as a plain call or as one traced ``tf.function`` reused for every batch.

Every attack works on a differentiable ``logits_fn(images) -> logits`` (a Keras model, or the
``serving_transformed`` signature of a loaded SavedModel), images in [0, 1] of shape
[batch, height, width, channels] and integer labels. The result always lies inside the
epsilon ball around the input and inside the valid pixel range, and epsilon = 0 returns the
input unchanged.
"""

import functools
from typing import Optional, Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.attack_config import AttackConfig
from robustfx.robustness.attacks import apgd, pgd, square
from robustfx.robustness.attacks.fgsm import fgsm
from robustfx.robustness.attacks.geometry import LogitsFn


def _apgd_loss(method: str, num_classes: int) -> str:
    """APGD's loss for ``method``. DLR needs 3 classes and its targeted form 4 (it reads the
    third and fourth largest logits): with fewer, APGD-T falls back to the untargeted DLR
    loss, and DLR to cross-entropy."""
    wanted = {"apgdce": "ce", "apgddlr": "dlr", "apgdt": "dlr_targeted"}[method]
    if wanted == "dlr_targeted" and num_classes < 4:
        wanted = "dlr"
    if wanted == "dlr" and num_classes < 3:
        wanted = "ce"
    return wanted


# The attacks hold no Python control flow on tensors (their loops are tf.while_loop), so
# AutoGraph, which a caller's tf.function may run, is kept out: converting their source took
# about a quarter of the time an evaluation spends tracing them, for the same graph.
@tf.autograph.experimental.do_not_convert
def run_attack(
    config: AttackConfig,
    logits_fn: LogitsFn,
    images: tf.Tensor,
    labels: tf.Tensor,
    seed: Optional[int] = None,
    num_classes: Optional[int] = None,
) -> tf.Tensor:
    """Runs the attack that ``config`` names; the result lies in the epsilon ball around
    ``images`` and in [0, 1]."""
    seed = 0 if seed is None else int(seed)
    common = dict(epsilon=config.epsilon, norm=config.norm, seed=seed)
    labels = tf.cast(labels, tf.int64)
    if config.method == "fgsm":
        return fgsm(logits_fn, images, labels, config.epsilon, config.norm)
    if config.method == "pgd":
        return pgd.pgd(
            logits_fn,
            images,
            labels,
            steps=config.steps,
            step_size=config.effective_step_size,
            random_start=config.random_start,
            **common,
        )
    if config.method == "square":
        return square.square(
            logits_fn, images, labels, n_queries=config.steps, p_init=config.p_init, **common
        )
    classes = num_classes or int(logits_fn(images[:1]).shape[-1])
    return apgd.apgd(
        logits_fn,
        images,
        labels,
        steps=config.steps,
        loss=_apgd_loss(config.method, classes),
        restarts=config.restarts,
        n_target_classes=min(config.targets, classes - 1),
        **common,
    )


def compile_attack(
    config: AttackConfig,
    logits_fn: LogitsFn,
    seed: Optional[int] = None,
    image_shape: Optional[Sequence[int]] = None,
    jit_compile: bool = False,
):
    """``run_attack`` as one traced ``tf.function(images, labels)``, built once and reused
    for every batch. With ``image_shape`` the trace takes any batch size, so a short last
    batch does not trigger a second trace; ``jit_compile`` compiles it with XLA."""
    signature = None
    if image_shape is not None:
        signature = [
            tf.TensorSpec([None, *image_shape], tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]

    def attack(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return run_attack(config, logits_fn, images, labels, seed)

    # The partial gives each compiled attack its own key in TensorFlow's retracing detector,
    # which keys by code object and would count several attacks' first traces as retracing.
    return tf.function(
        functools.partial(attack),
        input_signature=signature,
        reduce_retracing=True,
        jit_compile=jit_compile,
    )
