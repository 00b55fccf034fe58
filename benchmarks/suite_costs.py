"""What stands between the attack suite and the machine, each measured side by side:

- ``xla_vs_graph_apgd``: APGD-CE compiled with XLA (``jit_compile=True``) over the plain
  traced graph, steady-state seconds on the same batch (compile time reported apart);
- ``sweep_short_vs_full``: the epsilon sweep with ``EvaluationConfig.SWEEP_STEPS`` steps over
  the same sweep at the cascade's full budget (APGD-CE 100), tracing included;
- ``eval_batch_size``: examples per second of one attack at several ``--eval-batch-size``
  values, over the default's (128);
- ``gate_seconds_standard``: ``robustfx gate --suite standard --corruptions none`` end to
  end, as a user starts it, on the whole mnist_5k test split (1,000 digits), beside the
  least time its Square attack alone needs on this machine's measured forward pass.

All on the default recipe's robust CNN (``attack_suite.robust_model_dir``).
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Callable, Sequence

from stats import summary


def _attack(name: str, logits_fn, shape, jit_compile: bool = False):
    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks.dispatch import compile_attack

    return compile_attack(AttackConfig.from_name(name), logits_fn, 0, shape, jit_compile)


def _seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args).numpy()
    return time.perf_counter() - start


def _digits(arrays: Callable, count: int):
    import tensorflow as tf

    _, _, images, labels = arrays()
    return tf.constant(images[:count]), tf.constant(labels[:count].astype("int64"))


def xla_vs_graph(model_dir: str, arrays: Callable, repetitions: int) -> dict:
    """Steady-state seconds of APGD-CE 20 on 128 digits with XLA over without, interleaved."""
    from robustfx.robustness.models.saved_models import load_logits_fn

    logits_fn, shape = load_logits_fn(model_dir)
    images, labels = _digits(arrays, 128)
    name = "apgdce20_linf_0.2"
    graph, xla = _attack(name, logits_fn, shape), _attack(name, logits_fn, shape, True)
    first = {"graph": _seconds(graph, images, labels), "xla": _seconds(xla, images, labels)}
    same = bool((graph(images, labels).numpy() == xla(images, labels).numpy()).all())
    ratios = []
    for _ in range(repetitions):
        ratios.append(_seconds(xla, images, labels) / _seconds(graph, images, labels))
    return summary(
        ratios,
        attack=name,
        examples=128,
        first_call_seconds=first,
        identical_adversarial_images=same,
        unit="XLA seconds / graph seconds (above 1: XLA is slower)",
    )


def sweep_short_vs_full(model_dir: str, arrays: Callable, examples: int = 128) -> dict:
    """Seconds of the standard suite's epsilon sweep as it runs now over the same sweep at
    the cascade's full budget, on ``examples`` digits, tracing included."""
    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.attacks.dispatch import compile_attack
    from robustfx.robustness.models.saved_models import load_logits_fn

    config = EvaluationConfig(suite="standard")
    full_steps = next(a for a in config.cascade() if a.uses_gradients).steps
    short = config.sweep()
    full = tuple(dataclasses.replace(a, steps=full_steps) for a in short)
    logits_fn, shape = load_logits_fn(model_dir)
    images, labels = _digits(arrays, examples)

    def seconds(attacks) -> float:
        start = time.perf_counter()
        for attack in attacks:
            compile_attack(attack, logits_fn, 0, shape)(images, labels).numpy()
        return time.perf_counter() - start

    short_s, full_s = seconds(short), seconds(full)
    return summary(
        [short_s / full_s],
        short=[a.name for a in short],
        full=[a.name for a in full],
        short_seconds=short_s,
        full_seconds=full_s,
        examples=examples,
    )


def eval_batch_size(
    model_dir: str, arrays: Callable, sizes: Sequence[int] = (64, 128, 256, 512)
) -> dict:
    """Examples/s of APGD-CE 20 on 512 digits at each batch size, over batch 128's."""
    from robustfx.robustness.models.saved_models import load_logits_fn

    logits_fn, shape = load_logits_fn(model_dir)
    attack = _attack("apgdce20_linf_0.2", logits_fn, shape)
    images, labels = _digits(arrays, 512)
    attack(images[:8], labels[:8])  # trace once: the signature takes any batch size
    rate = {}
    for size in sizes:
        start = time.perf_counter()
        for first in range(0, 512, size):
            attack(images[first : first + size], labels[first : first + size]).numpy()
        rate[size] = 512 / (time.perf_counter() - start)
    relative = {str(size): value / rate[128] for size, value in rate.items()}
    return {
        "median": max(relative.values()),
        "repetitions": 1,
        "examples_per_second": {str(size): value for size, value in rate.items()},
        "relative_to_128": relative,
        "unit": "best batch size's examples/s over batch 128's, APGD-CE 20",
    }


def forward_seconds_per_example(model_dir: str, arrays: Callable, batch: int = 128) -> float:
    """Best steady-state seconds per example of one traced forward pass at ``batch``."""
    import tensorflow as tf

    from robustfx.robustness.models.saved_models import load_logits_fn

    logits_fn, shape = load_logits_fn(model_dir)
    forward = tf.function(logits_fn, input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
    images, _ = _digits(arrays, batch)
    forward(images).numpy()
    return min(_seconds(forward, images) for _ in range(20)) / batch


def gate_seconds(model_dir: str, data_dir: str, workdir: str, arrays: Callable) -> dict:
    """Wall time of ``robustfx gate --suite standard --corruptions none --full`` on the mnist_5k
    test split, as a user or CI starts it (a fresh process: imports, Beam, model loading,
    tracing included), beside the least time its Square attack alone can take here.

    That floor is the Square attack's forward passes (its query budget times the examples
    still correct when it starts, the cascade's accuracy after APGD-T) at this process's
    best measured forward time per example: no implementation of the same suite on the
    same model and kernels can finish sooner.
    """
    summary_json = os.path.join(workdir, "gate_standard.json")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    command = [
        sys.executable, "-m", "robustfx.cli.main", "gate", "--model", model_dir,
        "--data-dir", data_dir, "--suite", "standard", "--corruptions", "none", "--full",
        "--summary-json", summary_json,
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    with open(summary_json) as f:
        verdict = json.load(f)
    from robustfx.base.evaluation_config import EvaluationConfig

    cascade = EvaluationConfig(suite="standard").cascade()
    at = next(i for i, a in enumerate(cascade) if a.method == "square")
    square, before_square = cascade[at], cascade[at - 1]
    examples = verdict["metrics"]["candidate"]["num_examples"]
    attacked = round(verdict["robust_accuracy"][before_square.name] * examples)
    per_example = forward_seconds_per_example(model_dir, arrays)
    floor = square.steps * attacked * per_example
    return {
        "median": seconds,
        "repetitions": 1,
        "goal_seconds": 120,
        "examples": examples,
        "worst_case_robust_accuracy": verdict["worst_case_robust_accuracy"],
        "square_forward_floor_seconds": floor,
        "square_examples_attacked": attacked,
        "forward_seconds_per_example": per_example,
        "seconds_over_square_floor": seconds / floor,
    }
