"""What the ``quick`` corruption set adds to the evaluator's pass, in one run.

The evaluator judges the corruptions in the same Beam pass as the attacks. So the cost is
timed as a user meets it: the whole evaluation (Beam start-up, model loading, tracing, the
quick attack suite's cascade, FGSM reference, epsilon sweep and noise controls) on the 1,000
mnist_5k test digits, once with ``--corruptions none`` and once with ``quick``, interleaved
on the default recipe's robust CNN. The figure is the added seconds over the suite's own.

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
BUDGET = 0.15  # the quick set may add at most 15% to the quick suite's time


def quick_set_vs_quick_suite(model_dir: str, files: str, repetitions: int) -> dict:
    """The seconds the quick corruption set adds to the quick suite's evaluation over that
    evaluation's seconds, same model and digits, interleaved ``repetitions`` times."""
    import apache_beam as beam

    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.verdict import evaluation

    times = {"none": [], "quick": []}
    found = None
    for _ in range(repetitions):
        for corruptions in times:
            config = EvaluationConfig(suite="quick", report_examples=0, corruptions=corruptions)
            start = time.perf_counter()
            result = evaluation.evaluate(
                beam.Pipeline, files, model_dir, config, [str(d) for d in range(10)], seed=0
            )
            times[corruptions].append(time.perf_counter() - start)
            found = result.verdict.candidate
    ratios = [
        (quick - none) / none for none, quick in zip(times["none"], times["quick"], strict=True)
    ]
    return summary(
        ratios,
        goal=BUDGET,
        unit="seconds the quick corruption set adds / seconds of the quick attack suite's "
        "evaluation, 1,000 digits",
        suite_seconds=summary(times["none"]),
        with_corruptions_seconds=summary(times["quick"]),
        corruption_accuracy=dict(found.corruption_accuracy) if found else None,
        corruption_mean=found.corruption_mean.value if found and found.corruption_mean else None,
    )


def main() -> int:
    workdir = os.path.join(HERE, "out")
    info = fixtures.mnist(os.path.join(workdir, "tfds"))
    result = quick_set_vs_quick_suite(
        attack_suite.robust_model_dir(workdir, fixtures.arrays),
        fixtures.transformed_examples(workdir, info, 1),
        repetitions=int(sys.argv[1]) if len(sys.argv) > 1 else 2,
    )
    print(json.dumps({"corruption_quick_vs_attack_quick": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
