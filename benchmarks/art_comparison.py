"""The project's attacks beside IBM ART's, on the same model, digits and budgets.

ART (adversarial-robustness-toolbox 1.20.1, a benchmark-only extra pinned in
``benchmarks/requirements-art.txt``) runs its ``AutoAttack`` driver with APGD-CE 100,
APGD-DLR 100 and Square 5,000, one restart each, L-infinity 0.2: each attack only on the
examples every earlier one failed on. The project runs exactly that set as its own cascade
(``apgdce100``, ``apgddlr100``, ``square5000``), traced once per attack and batched like the
evaluator. Both attack the SavedModel's ``serving_transformed`` signature: ART through a
``tf.keras.Model`` whose ``call`` invokes it. Reported: the wall-time ratio (ART over the
project), measured one after the other in this run, and both robust accuracies.

The project's standard suite runs APGD-T over 9 targets instead of untargeted APGD-DLR; its
time is ``suite_seconds_1000_digits``.
"""

import time
from typing import Callable, Sequence, Tuple

import numpy as np

EPSILON = 0.2
# ART's AutoAttack list, and the project's names for the same attacks and budgets.
PROJECT_CASCADE = ("apgdce100_linf_0.2", "apgddlr100_linf_0.2", "square5000_linf_0.2")


def project_cascade(
    model_dir: str, images: np.ndarray, labels: np.ndarray, names: Sequence[str], batch: int
) -> Tuple[float, float]:
    """(robust accuracy, seconds) of the project's attacks as a cascade, tracing included."""
    import tensorflow as tf

    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks.dispatch import compile_attack
    from robustfx.robustness.models.saved_models import load_logits_fn

    start = time.perf_counter()
    logits_fn, shape = load_logits_fn(model_dir)
    attacks = [compile_attack(AttackConfig.from_name(n), logits_fn, 0, shape) for n in names]
    predict = tf.function(lambda x: tf.argmax(logits_fn(x), axis=-1))
    robust = 0
    for first in range(0, len(labels), batch):
        x, y = (
            tf.constant(images[first : first + batch]),
            tf.constant(labels[first : first + batch]),
        )
        alive = np.flatnonzero(predict(x).numpy() == y.numpy())
        for attack in attacks:
            if not alive.size:
                break
            xs, ys = tf.gather(x, alive), tf.gather(y, alive)
            alive = alive[predict(attack(xs, ys)).numpy() == ys.numpy()]
        robust += alive.size
    return robust / len(labels), time.perf_counter() - start


def _art_classifier(model_dir: str):
    """ART's TensorFlowV2Classifier around the SavedModel's attack signature."""
    import tensorflow as tf
    from art.estimators.classification import TensorFlowV2Classifier

    from robustfx.robustness.models.saved_models import load_logits_fn

    logits_fn, shape = load_logits_fn(model_dir)

    class Signature(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.saved_model = logits_fn.saved_model

        def call(self, inputs, training=False):
            return logits_fn(inputs)

    return TensorFlowV2Classifier(
        model=Signature(),
        nb_classes=10,
        input_shape=shape,
        loss_object=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 1.0),
    )


def art_autoattack(
    model_dir: str, images: np.ndarray, labels: np.ndarray, batch: int
) -> Tuple[float, float]:
    """(robust accuracy, seconds) of ART's AutoAttack with APGD-CE, APGD-DLR and Square."""
    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent, SquareAttack

    start = time.perf_counter()
    classifier = _art_classifier(model_dir)
    apgd = dict(
        norm=np.inf, eps=EPSILON, eps_step=2 * EPSILON, max_iter=100, nb_random_init=1,
        batch_size=batch, verbose=False,
    )  # fmt: skip
    attacks = [
        AutoProjectedGradientDescent(classifier, loss_type="cross_entropy", **apgd),
        AutoProjectedGradientDescent(classifier, loss_type="difference_logits_ratio", **apgd),
        SquareAttack(
            classifier, norm=np.inf, eps=EPSILON, max_iter=5000, p_init=0.8, nb_restarts=1,
            batch_size=batch, verbose=False,
        ),
    ]  # fmt: skip
    driver = AutoAttack(classifier, norm=np.inf, eps=EPSILON, attacks=attacks, batch_size=batch)
    adversarial = driver.generate(images, labels)
    predicted = np.argmax(classifier.predict(adversarial, batch_size=batch), axis=1)
    return float(np.mean(predicted == labels)), time.perf_counter() - start


def art_vs_project(
    model_dir: str, arrays: Callable, examples: int = 1000, batch: int = 128
) -> dict:
    """ART's wall time over the project's on the same attacks, model and first ``examples``
    test digits, measured one after the other, and the two robust accuracies."""
    _, _, images, labels = arrays()
    images, labels = images[:examples], labels[:examples].astype(np.int64)
    project_accuracy, project_s = project_cascade(model_dir, images, labels, PROJECT_CASCADE, batch)
    art_accuracy, art_s = art_autoattack(model_dir, images, labels, batch)
    return {
        "median": art_s / project_s,
        "repetitions": 1,
        "examples": len(labels),
        "art_seconds": art_s,
        "project_seconds": project_s,
        "art_robust_accuracy": art_accuracy,
        "project_robust_accuracy": project_accuracy,
        "accuracy_gap_points": 100 * (art_accuracy - project_accuracy),
        "attacks": list(PROJECT_CASCADE),
        "art_version": _art_version(),
        "goal": 4.0,
    }


def _art_version() -> str:
    from importlib.metadata import version

    return version("adversarial-robustness-toolbox")
