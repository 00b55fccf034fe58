"""``ModelUnderAttack`` traces each attack once, for any batch size, and TensorFlow reports
no retracing (its detector keys traces by code object, so one shared function body for
all attacks used to read as "5 out of the last 5 calls ... triggered retracing")."""

import logging
import os

import numpy as np
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.robustness.verdict.model_under_attack import AttackPlan, ModelUnderAttack


def test_every_attack_traces_once_and_nothing_reports_retracing(
    trained_model_dir, mnist_arrays, caplog
):
    config = EvaluationConfig(
        attacks=(
            AttackConfig.from_name("pgd2_linf_0.2"),
            AttackConfig.from_name("square5_linf_0.2"),
        ),
        thresholds=ThresholdConfig(min_robust_accuracy={}),
        epsilon_sweep=(0.25, 0.5, 0.75),
    )
    plan = AttackPlan.of(config)
    assert len(plan.independent) == 5  # FGSM and four sweep radii: enough to trip the detector
    model = ModelUnderAttack(
        os.path.join(trained_model_dir, "Format-Serving"), plan, seed=0, num_classes=10
    )
    images, labels = mnist_arrays["test"]
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for size in (16, 9, 16, 3):
            x = tf.constant(images[:size] / 255.0, tf.float32)
            model.count(x, tf.constant(labels[:size].astype(np.int64)), 10)
    functions = [*model._independent.values(), *model._cascade.values()]
    assert [f.experimental_get_tracing_count() for f in functions] == [1] * len(functions)
    assert "retracing" not in caplog.text


def test_models_judged_one_after_another_in_one_process_report_no_retracing(
    trained_model_dir, mnist_arrays, caplog
):
    # Each instance traces its own functions once; TensorFlow's detector must not read the
    # first traces of five instances (the gate's rounds, a candidate and its baseline) as
    # retracing, whatever ran in this process before.
    config = EvaluationConfig(
        attacks=(AttackConfig.from_name("pgd2_linf_0.2"),),
        thresholds=ThresholdConfig(min_robust_accuracy={}),
        epsilon_sweep=(),
    )
    plan = AttackPlan.of(config)
    images, labels = mnist_arrays["test"]
    x = tf.constant(images[:4] / 255.0, tf.float32)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(6):
            model = ModelUnderAttack(
                os.path.join(trained_model_dir, "Format-Serving"), plan, seed=0, num_classes=10
            )
            model.count(x, tf.constant(labels[:4].astype(np.int64)), 10)
    assert "retracing" not in caplog.text
