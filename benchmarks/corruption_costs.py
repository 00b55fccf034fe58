"""What the ``quick`` corruption set costs beside the ``quick`` attack suite, in one run.

The suite is timed as the evaluator runs it: its whole Beam pipeline on the 1,000 mnist_5k
test digits (cascade, FGSM reference, epsilon sweep, noise controls), Beam start-up, model
loading and tracing included. The corruption set is timed as it adds to that pass: every
(corruption, severity) of the set traced afresh and run on the same digits in batches of
the evaluator's size, each corrupted batch classified by the same model (already loaded, as
in the evaluator's worker). Both on the default recipe's robust CNN, interleaved.

  .venv/bin/python benchmarks/corruption_costs.py          # prints the ratio as JSON
"""

import json
import os
import sys
import time

import attack_suite
import fixtures
from stats import summary

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

HERE = os.path.dirname(os.path.abspath(__file__))
BUDGET = 0.15  # the quick set may cost at most 15% of the quick suite's time


def corruption_seconds(logits_fn, images, labels, set_name: str, batch_size: int) -> tuple:
    """(seconds, accuracy by corruption and severity) of the named set on ``images``."""
    import tensorflow as tf

    from robustfx.base.corruption_sets import resolve_corruption_set
    from robustfx.robustness.corruptions.registry import compile_corruption

    shape = tuple(int(side) for side in images.shape[1:])
    resolved = resolve_corruption_set(set_name, shape[-1])
    classify = tf.function(  # traced once, as the evaluator's model functions are
        lambda batch: tf.argmax(logits_fn(batch), axis=-1),
        input_signature=[tf.TensorSpec([None, *shape], tf.float32)],
    )
    classify(tf.constant(images[:batch_size]))  # the evaluator has traced its model already
    start = time.perf_counter()
    accuracy = {}
    for name, severity in resolved.runs:
        corrupt = compile_corruption(name, severity, shape)
        correct = 0
        for first in range(0, len(images), batch_size):
            predicted = classify(corrupt(tf.constant(images[first : first + batch_size])))
            correct += int((predicted.numpy() == labels[first : first + batch_size]).sum())
        accuracy[f"{name}@{severity}"] = correct / len(images)
    return time.perf_counter() - start, accuracy


def quick_set_vs_quick_suite(model_dir: str, files: str, arrays, repetitions: int) -> dict:
    """The quick corruption set's seconds over the quick attack suite's, same model and
    digits, interleaved ``repetitions`` times."""
    import apache_beam as beam

    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.models.saved_models import load_logits_fn
    from robustfx.robustness.verdict import evaluation

    _, _, images, labels = arrays()
    config = EvaluationConfig(suite="quick", report_examples=0)
    logits_fn, _ = load_logits_fn(model_dir)
    ratios, suite_times, corruption_times = [], [], []
    accuracy = {}
    for _ in range(repetitions):
        start = time.perf_counter()
        evaluation.evaluate(
            beam.Pipeline, files, model_dir, config, [str(d) for d in range(10)], seed=0
        )
        suite_times.append(time.perf_counter() - start)
        seconds, accuracy = corruption_seconds(
            logits_fn, images, labels, "quick", config.batch_size
        )
        corruption_times.append(seconds)
        ratios.append(seconds / suite_times[-1])
    return summary(
        ratios,
        goal=BUDGET,
        unit="quick corruption set seconds / quick attack suite seconds, 1,000 digits",
        suite_seconds=summary(suite_times),
        corruption_seconds=summary(corruption_times),
        corruption_accuracy=accuracy,
    )


def main() -> int:
    workdir = os.path.join(HERE, "out")
    info = fixtures.mnist(os.path.join(workdir, "tfds"))
    result = quick_set_vs_quick_suite(
        attack_suite.robust_model_dir(workdir, fixtures.arrays),
        fixtures.transformed_examples(workdir, info, 1),
        fixtures.arrays,
        repetitions=int(sys.argv[1]) if len(sys.argv) > 1 else 2,
    )
    print(json.dumps({"corruption_quick_vs_attack_quick": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
