"""The verifier's cost and what it proves, on a served model (the default run's) and the
1,000 test digits of mnist_5k, at L-infinity epsilon 0.1 and 0.2:

- seconds of one forward pass over the digits, of IBP and of CROWN, beside the quick
  suite's: its cascade alone (APGD-CE 20, APGD-T 20 x 3, Square 300, each on the digits
  still robust), in this process, and the whole quick evaluation through the evaluator's
  Beam pipeline (references, sweep and noise controls included; corruptions off), with
  each method's time as a fraction of both;
- the bracket: certified accuracy by IBP and by CROWN (which keeps the better bound per
  example, so it is never below IBP's), with Wilson intervals, beside the cascade's
  attacked worst case at the same epsilon; and how many certified digits the cascade broke,
  which must be 0.

  .venv/bin/python benchmarks/certification_costs.py SERVING_DIR [--digits N] [--output F]

Run it on an otherwise idle machine: the figures are wall times.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

HERE = os.path.dirname(os.path.abspath(__file__))
EPSILONS = (0.1, 0.2)
BATCH = 128  # the evaluator's default batch


def _cascade(logits_fn, shape, images, labels, epsilon: float):
    """(robust per digit, seconds) of the quick suite's cascade, tracing included."""
    import tensorflow as tf

    from robustfx.base.suites import suite_attacks
    from robustfx.robustness.attacks.dispatch import compile_attack

    start = time.perf_counter()
    attacks = [
        compile_attack(c, logits_fn, 0, shape) for c in suite_attacks("quick", epsilon, "linf")
    ]
    robust = np.zeros(len(labels), bool)
    for first in range(0, len(labels), BATCH):
        x, y = (
            tf.constant(images[first : first + BATCH]),
            tf.constant(labels[first : first + BATCH]),
        )
        alive = np.flatnonzero(np.argmax(logits_fn(x).numpy(), 1) == labels[first : first + BATCH])
        for attack in attacks:
            if not alive.size:
                break
            xs, ys = tf.gather(x, alive), tf.gather(y, alive)
            alive = alive[np.argmax(logits_fn(attack(xs, ys)).numpy(), 1) == ys.numpy()]
        robust[first + alive] = True
    return robust, time.perf_counter() - start


def _evaluator_seconds(model_dir: str, digits: int) -> float:
    """The quick evaluation through the evaluator's Beam pipeline, corruptions off."""
    import apache_beam as beam
    import fixtures

    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.verdict import evaluation

    if digits != 1000:
        return float("nan")  # the transformed records hold the whole test split
    workdir = os.path.join(HERE, "out")
    os.makedirs(workdir, exist_ok=True)
    files = fixtures.transformed_examples(workdir, None, 1)
    config = EvaluationConfig(suite="quick", report_examples=0, corruptions="none")
    start = time.perf_counter()
    evaluation.evaluate(
        beam.Pipeline, files, model_dir, config, [str(d) for d in range(10)], seed=0
    )
    return time.perf_counter() - start


def _interval(certified: np.ndarray) -> list:
    from robustfx.robustness.verdict.statistics import wilson_interval

    return [round(side, 4) for side in wilson_interval(int(certified.sum()), certified.size)]


def measure(model_dir: str, digits: int, epsilons=EPSILONS) -> dict:
    import fixtures

    from robustfx.robustness.certification import certify, check_against_signature, load_network
    from robustfx.robustness.models.saved_models import load_logits_fn

    _, _, images, labels = fixtures.arrays()
    images, labels = images[:digits].reshape(-1, 28, 28, 1), labels[:digits]
    logits_fn, shape = load_logits_fn(model_dir)
    start = time.perf_counter()
    network, loaded = load_network(model_dir)
    check_against_signature(network, logits_fn, images[:BATCH])
    out = {"digits": digits, "load_and_check_seconds": time.perf_counter() - start}
    logits_fn(images[:BATCH])  # trace
    start = time.perf_counter()
    clean = np.concatenate(
        [np.argmax(logits_fn(images[i : i + BATCH]).numpy(), 1) for i in range(0, digits, BATCH)]
    )
    out["forward_seconds"] = time.perf_counter() - start
    out["clean_accuracy"] = float(np.mean(clean == labels))
    out["evaluator_quick_seconds"] = _evaluator_seconds(model_dir, digits)
    for epsilon in epsilons:
        robust, cascade_seconds = _cascade(logits_fn, shape, images, labels, epsilon)
        row = {"cascade_seconds": cascade_seconds, "worst_case_accuracy": float(robust.mean())}
        for method in ("ibp", "crown"):
            found = certify(network, images, labels, epsilon, "linf", method, batch_size=BATCH)
            row[method] = {
                "seconds": found.seconds,
                "of_cascade": found.seconds / cascade_seconds,
                "of_evaluator_quick": found.seconds / out["evaluator_quick_seconds"],
                "certified_accuracy": found.accuracy,
                "wilson_95": _interval(found.certified),
                "certified_but_attacked": int(np.sum(found.certified & ~robust)),
                "median_margin_bound": float(np.median(found.margins)),
            }
        out[f"linf_{epsilon}"] = row
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a served SavedModel directory (serving/<version>)")
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument("--output", default=os.path.join(HERE, "certification_results.json"))
    args = parser.parse_args()
    results = measure(args.model_dir, args.digits, args.epsilons)
    results["model_dir"] = os.path.basename(os.path.normpath(args.model_dir))
    print(json.dumps(results, indent=1))
    with open(args.output, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
