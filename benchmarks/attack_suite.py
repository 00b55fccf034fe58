"""What the attack suite costs: throughput per gradient evaluation against a bare loop, and
the standard suite's wall time on the 1,000 mnist_5k test digits.

The model is the default recipe's (robust) CNN, trained here for a few epochs: on a model
that is not robust the cascade empties after its first attack and would flatter the time.
"""

import os
import time
from typing import Callable

from stats import summary

HERE = os.path.dirname(os.path.abspath(__file__))


def robust_model_dir(workdir: str, arrays: Callable) -> str:
    """The default recipe's CNN (NSL, the project's AdversarialConfig defaults), 3 epochs."""
    import tensorflow as tf

    from robustfx.base.training_config import AdversarialConfig, ModelConfig
    from robustfx.trainer import model as model_lib
    from robustfx.trainer.export import image_signatures

    path = os.path.join(workdir, "robust_model")
    if not os.path.isdir(path):
        tf.keras.utils.set_random_seed(0)
        x, y, _, _ = arrays()
        base = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
        wrapped = model_lib.wrap_adversarial(base, AdversarialConfig())
        model_lib.compile_for_training(wrapped, 1e-3)
        wrapped.fit({"image": x, "label": y}, epochs=3, batch_size=32, verbose=0)
        base.save(path, save_format="tf", signatures=image_signatures(base, (28, 28, 1)))
    return path


def _bare_pgd(logits_fn, steps: int, epsilon: float):
    """The least a PGD loop can do per gradient: step, project, nothing else."""
    import tensorflow as tf

    step_size = 2.5 * epsilon / steps

    @tf.function
    def attack(x, y):
        adv = x
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(adv)
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits_fn(adv))
                )
            adv = adv + step_size * tf.sign(tape.gradient(loss, adv))
            adv = tf.clip_by_value(tf.clip_by_value(adv, x - epsilon, x + epsilon), 0.0, 1.0)
        return adv

    return attack


def suite_vs_bare_loop(model_dir: str, arrays: Callable, repetitions: int) -> dict:
    """Gradient evaluations per second of the project's APGD-CE-100 (as the evaluator traces
    it) over a bare 100-step PGD loop, same model, batch and examples, interleaved."""
    import tensorflow as tf

    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks.dispatch import compile_attack
    from robustfx.robustness.models.saved_models import load_logits_fn

    _, _, xt, yt = arrays()
    logits_fn, shape = load_logits_fn(model_dir)
    images, labels = tf.constant(xt[:256]), tf.constant(yt[:256])
    project = compile_attack(AttackConfig.from_name("apgdce100_linf_0.2"), logits_fn, 0, shape)
    bare = _bare_pgd(logits_fn, 100, 0.2)
    project(images, labels), bare(images, labels)  # trace both

    def seconds(attack) -> float:
        start = time.perf_counter()
        attack(images, labels).numpy()
        return time.perf_counter() - start

    ratios = []
    for _ in range(repetitions):
        bare_time, project_time = seconds(bare), seconds(project)
        # APGD evaluates 101 gradients (its random start too), the bare loop 100.
        ratios.append((101 / project_time) / (100 / bare_time))
    return summary(ratios, goal=0.9, unit="gradient evaluations/s, project over bare loop")


def standard_suite_seconds(model_dir: str, files: str, repetitions: int) -> dict:
    """Wall time of the whole standard-suite evaluation (cascade, FGSM reference, epsilon
    sweep, noise controls) through the evaluator's Beam pipeline on the 1,000 test digits,
    and the quick suite's beside it."""
    import apache_beam as beam

    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.verdict import evaluation

    times = {"standard": [], "quick": []}
    worst = {}
    for _ in range(repetitions):
        for suite in times:
            config = EvaluationConfig(suite=suite, report_examples=0, corruptions="none")
            start = time.perf_counter()
            result = evaluation.evaluate(
                beam.Pipeline, files, model_dir, config, [str(d) for d in range(10)], seed=0
            )
            times[suite].append(time.perf_counter() - start)
            worst[suite] = result.verdict.candidate.worst_case_robust_accuracy.value
    return {
        suite: summary(values, goal_seconds=180 if suite == "standard" else None,
                       worst_case_robust_accuracy=worst[suite])
        for suite, values in times.items()
    }  # fmt: skip
