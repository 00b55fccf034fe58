"""The performance suite: what robustness costs, and where the time goes.

Every figure is a ratio of two measurements taken side by side in this one run on this one
machine (interleaved where it matters), reported as the median of several repetitions with
min and max. Results go to benchmarks/results.json.

  .venv/bin/python benchmarks/run.py            # everything (about 20 minutes on 2 cores)
  .venv/bin/python benchmarks/run.py --only adv_training_step_ratio
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import Callable, Dict

# Run as a script: this folder is on sys.path.
import art_comparison  # noqa: E402
import attack_suite  # noqa: E402
import beam_costs  # noqa: E402
import corruption_costs  # noqa: E402
import decide_early  # noqa: E402
import fixtures  # noqa: E402
import onednn_costs  # noqa: E402
import pipeline_costs  # noqa: E402
import roofline  # noqa: E402
import suite_costs  # noqa: E402
from stats import summary  # noqa: E402

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


BLOCKS = 3  # timed blocks per model and repetition, alternating; each model's fastest counts


def _step_timer(model, batch: dict, dict_input: bool) -> Callable[[int], float]:
    """``seconds_per_step(steps)`` of training ``model``, traced and warmed up first."""
    import tensorflow as tf

    if dict_input:
        data = tf.data.Dataset.from_tensors(batch).repeat()
    else:
        data = tf.data.Dataset.from_tensors((batch["image"], batch["label"])).repeat()
    model.fit(data, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up

    def seconds_per_step(steps: int) -> float:
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        return (time.perf_counter() - start) / steps

    return seconds_per_step


def training_step_ratio(recipe: str, repetitions: int, steps: int) -> dict:
    """NSL adversarial training step time over a clean step: same CNN, batch and data.

    Each repetition builds fresh models and times ``BLOCKS`` blocks of ``steps`` steps of
    each, alternating clean and adversarial; the ratio is of each model's fastest block, so
    a burst of other load on this shared machine slows one block, not one model.

    Args:
      recipe: 'default' (the project's AdversarialConfig defaults), 'tutorial' (the NSL
        tutorial's FGSM-based settings) or 'pgd' (compare's PGD-5 training).
    """
    from robustfx.base.presets import PGD_TRAINING, TUTORIAL_ADVERSARIAL
    from robustfx.base.training_config import AdversarialConfig, ModelConfig
    from robustfx.trainer import model as model_lib

    adv_config = {
        "default": AdversarialConfig(),
        "tutorial": TUTORIAL_ADVERSARIAL,
        "pgd": PGD_TRAINING,
    }[recipe]
    x, y, _, _ = fixtures.arrays()
    batch = {"image": x[:32], "label": y[:32]}
    ratios = []
    for _ in range(repetitions):
        clean = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
        model_lib.compile_for_training(clean, 1e-3)
        adv = model_lib.wrap_adversarial(
            model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10), adv_config
        )
        model_lib.compile_for_training(adv, 1e-3)
        clean_step = _step_timer(clean, batch, dict_input=False)
        adv_step = _step_timer(adv, batch, dict_input=True)
        clean_times, adv_times = [], []
        for _ in range(BLOCKS):
            clean_times.append(clean_step(steps))
            adv_times.append(adv_step(steps))
        ratios.append(min(adv_times) / min(clean_times))
    k = adv_config.pgd_iterations
    return summary(ratios, natural_bound=2.0 if k == 1 else k + 1.0, pgd_iterations=k)


def _reference_throughput(model_dir: str, attack_name: str, batch_size: int) -> float:
    """Examples/s of the minimal in-memory loop: one tf.function per batch that attacks and
    predicts, on arrays already in memory."""
    import tensorflow as tf

    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks.dispatch import compile_attack
    from robustfx.robustness.models.saved_models import load_logits_fn

    _, _, xt, yt = fixtures.arrays()
    logits_fn, shape = load_logits_fn(model_dir)
    attack = compile_attack(AttackConfig.from_name(attack_name), logits_fn, 0, shape)
    predict = tf.function(lambda v: tf.argmax(logits_fn(v), axis=-1))
    batches = [
        (tf.constant(xt[i : i + batch_size]), tf.constant(yt[i : i + batch_size]))
        for i in range(0, len(yt), batch_size)
    ]
    for images, labels in batches[:1]:  # trace
        predict(attack(images, labels))
    start = time.perf_counter()
    correct = 0
    for images, labels in batches:
        correct += int(tf.reduce_sum(tf.cast(predict(attack(images, labels)) == labels, tf.int32)))
    return len(yt) / (time.perf_counter() - start)


def evaluator_vs_reference(workdir: str, info, repetitions: int) -> dict:
    """Evaluator throughput over the minimal in-memory loop's, on the same model and data.

    The evaluator's steady-state throughput is the marginal rate between the 1x and 4x split
    (its fixed start-up cost cancels); its end-to-end rate on the 1x split is reported too.
    """
    model_dir = fixtures.trained_model_dir(workdir)
    one, four = (
        fixtures.transformed_examples(workdir, info, 1),
        fixtures.transformed_examples(workdir, info, 4),
    )
    out = {}
    for attack in ("fgsm_linf_0.2", "pgd10_linf_0.2"):
        steady, end_to_end, fixed = [], [], []
        for _ in range(repetitions):
            n1, t1 = fixtures.evaluator_seconds(model_dir, one, attack)
            n4, t4 = fixtures.evaluator_seconds(model_dir, four, attack)
            reference = _reference_throughput(model_dir, attack, 128)
            steady.append(((n4 - n1) / (t4 - t1)) / reference)
            end_to_end.append((n1 / t1) / reference)
            fixed.append(t1 - n1 * (t4 - t1) / (n4 - n1))
        out[attack] = summary(
            steady,
            end_to_end_ratio_1x=statistics.median(end_to_end),
            fixed_seconds=statistics.median(fixed),
        )
    return {
        **out["pgd10_linf_0.2"],
        "per_attack": out,
        "target": 0.8,
        "note": "steady state; per batch the evaluator also runs the clean pass, the "
        "random-noise control and the perturbation norms, which the reference "
        "loop (attack and predict only) does not",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="Run only these result keys.")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument(
        "--digits",
        type=int,
        default=1000,
        help="Test digits of the ART comparison and the roofline (fewer for a quick run).",
    )
    parser.add_argument("--output", default=os.path.join(HERE, "results.json"))
    args = parser.parse_args(argv)
    workdir = os.path.join(HERE, "out")
    data_dir = os.path.join(workdir, "tfds")
    info = fixtures.mnist(data_dir)
    reps = args.repetitions
    step_reps = max(reps, 5)  # training step ratios: at least 5 interleaved repetitions

    def robust() -> str:
        return attack_suite.robust_model_dir(workdir, fixtures.arrays)

    suite: Dict[str, Callable[[], dict]] = {
        "adv_training_step_ratio": lambda: training_step_ratio("default", step_reps, 40),
        "tutorial_training_step_ratio": lambda: training_step_ratio("tutorial", step_reps, 60),
        "pgd_training_step_ratio": lambda: training_step_ratio("pgd", step_reps, 20),
        "evaluator_vs_reference_throughput": lambda: evaluator_vs_reference(workdir, info, reps),
        "evaluator_peak_rss_ratio_50x": lambda: beam_costs.evaluator_memory(workdir, info, reps),
        "pipeline": lambda: pipeline_costs.pipeline_overhead(workdir, data_dir),
        "cli_refusal_vs_help_ratio": lambda: pipeline_costs.refusal_vs_help(5),
        "suite_vs_bare_pgd_gradient_throughput": lambda: attack_suite.suite_vs_bare_loop(
            attack_suite.robust_model_dir(workdir, fixtures.arrays), fixtures.arrays, reps
        ),
        "suite_seconds_1000_digits": lambda: attack_suite.standard_suite_seconds(
            attack_suite.robust_model_dir(workdir, fixtures.arrays),
            fixtures.transformed_examples(workdir, info, 1),
            reps,
        ),
        "corruption_quick_vs_attack_quick": lambda: corruption_costs.quick_set_vs_quick_suite(
            attack_suite.robust_model_dir(workdir, fixtures.arrays),
            fixtures.transformed_examples(workdir, info, 1),
            reps,
        ),
        "art_vs_project_seconds_ratio": lambda: art_comparison.art_vs_project(
            robust(), fixtures.arrays, args.digits
        ),
        "standard_suite_roofline_fraction": lambda: roofline.standard_suite_roofline(
            robust(), fixtures.arrays, args.digits
        ),
        "xla_vs_graph_apgd": lambda: suite_costs.xla_vs_graph(robust(), fixtures.arrays, reps),
        "sweep_short_vs_full": lambda: suite_costs.sweep_short_vs_full(robust(), fixtures.arrays),
        "eval_batch_size": lambda: suite_costs.eval_batch_size(robust(), fixtures.arrays),
        "gate_seconds_standard": lambda: suite_costs.gate_seconds(
            robust(), data_dir, workdir, fixtures.arrays
        ),
        "onednn_vs_eigen": lambda: onednn_costs.onednn_vs_eigen(robust(), reps),
        "decide_early_vs_full_ci": lambda: decide_early.decide_early_vs_full(
            decide_early.ci_model(workdir), data_dir, os.path.join(workdir, "decide_early")
        ),
    }
    results = {}
    if os.path.isfile(args.output):
        with open(args.output) as f:
            results = json.load(f)
    results.pop("beam_scaling_2_vs_1", None)  # no longer measured (see beam_costs.py)
    for key, measure in suite.items():
        if args.only and key not in args.only:
            continue
        print(f"measuring {key} ...", flush=True)
        value = measure()
        results.update(value if key == "pipeline" else {key: value})
        print(json.dumps({key: value}, indent=1), flush=True)
        with open(args.output, "w") as f:  # keep what is measured even if a later one fails
            json.dump(results, f, indent=2, sort_keys=True)
    results["machine"] = {"cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
