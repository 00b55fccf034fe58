"""The epsilon sweep runs a short attack (``EvaluationConfig.SWEEP_STEPS``) and the validity
checks keep their power: on real attacks against a trained CNN and the same CNN behind a
rounding layer (gradients zero almost everywhere), the short sweep passes the sound model
and refuses the masked one on exactly the checks a full-budget sweep fails."""

import os

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.robustness.attacks import dispatch, geometry
from robustfx.robustness.models.saved_models import load_logits_fn
from robustfx.robustness.verdict.validity import validity_checks

CASCADE = (
    AttackConfig.from_name("apgdce100_linf_0.2"),
    AttackConfig.from_name("square300_linf_0.2"),
)
EXAMPLES = 120


@pytest.fixture(scope="module")
def digits(mnist_arrays):
    images, labels = mnist_arrays["test"]
    return tf.constant(images[:EXAMPLES] / 255.0, tf.float32), tf.constant(labels[:EXAMPLES])


@pytest.fixture(scope="module")
def models(trained_model_dir):
    logits_fn, _ = load_logits_fn(os.path.join(trained_model_dir, "Format-Serving"))
    return {"sound": logits_fn, "masked": lambda images: logits_fn(tf.round(images))}


def _correct(logits_fn, images, labels) -> np.ndarray:
    return np.argmax(logits_fn(images).numpy(), axis=1) == labels.numpy()


def _survivors(logits_fn, attack, images, labels) -> np.ndarray:
    run = dispatch.compile_attack(attack, logits_fn, seed=0, image_shape=(28, 28, 1))
    return _correct(logits_fn, run(images, labels), labels)


def _metrics(logits_fn, config: EvaluationConfig, images, labels) -> dict:
    """The fields of an evaluation's metrics the validity checks read, from real attacks."""
    clean = _correct(logits_fn, images, labels)
    fgsm = config.fgsm_reference()
    attacks = {a.name: {"robust_accuracy": _survivors(logits_fn, a, images, labels).mean()}
               for a in (fgsm, *config.sweep())}  # fmt: skip
    noisy = geometry.random_noise(images, fgsm.epsilon, fgsm.norm, seed=0)
    attacks[fgsm.name]["noise_accuracy"] = _correct(logits_fn, noisy, labels).mean()
    cascade, alive = [], clean
    for attack in config.cascade():
        survived = alive & _survivors(logits_fn, attack, images, labels)
        cascade.append({"attack": attack.name, "robust_accuracy": survived.mean(),
                        "share": (alive & ~survived).mean()})  # fmt: skip
        alive = survived
    return {
        "num_examples": len(labels),
        "clean_accuracy": clean.mean(),
        "worst_case_robust_accuracy": alive.mean(),
        "cascade": cascade,
        "attacks": attacks,
    }


def _failed(logits_fn, digits) -> set:
    config = EvaluationConfig(attacks=CASCADE)
    metrics = _metrics(logits_fn, config, *digits)
    return {c.rule for c in validity_checks(metrics, config, num_classes=10) if not c.passed}


def test_the_sweep_is_short_but_spans_the_same_radii():
    sweep = EvaluationConfig(attacks=CASCADE).sweep()
    assert [a.name for a in sweep] == [
        f"apgdce{EvaluationConfig.SWEEP_STEPS}_linf_{eps}" for eps in ("0.05", "0.1", "0.15", "1")
    ]
    square_only = EvaluationConfig(attacks=CASCADE[1:]).sweep()
    assert {a.steps for a in square_only} == {300}  # a query budget is never cut


def test_the_short_sweep_keeps_the_checks_power(models, digits, monkeypatch):
    assert _failed(models["sound"], digits) == set()
    short = _failed(models["masked"], digits)
    monkeypatch.setattr(EvaluationConfig, "SWEEP_STEPS", 100)
    full = _failed(models["masked"], digits)
    assert short == full and short  # the same checks refuse the masked model
