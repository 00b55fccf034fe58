"""oneDNN's CPU kernels against TensorFlow's Eigen kernels on the attack suite's work.

TensorFlow turns oneDNN on by itself only on CPUs with AVX-512; the project turns it on
everywhere (``robustfx/__init__``). Each setting runs in its own fresh process (TensorFlow
reads ``TF_ENABLE_ONEDNN_OPTS`` once, at import), alternating, and times APGD-CE 20 and
Square 300 on the same 128 test digits after tracing. Reported: Eigen's seconds over
oneDNN's (above 1: oneDNN is faster), and whether each setting gave identical adversarial
images in every repetition (run-to-run determinism).

  .venv/bin/python benchmarks/onednn_costs.py MODEL_DIR   # one process's timings, as JSON
"""

import hashlib
import json
import os
import subprocess
import sys
import time

ATTACKS = ("apgdce20_linf_0.2", "square300_linf_0.2")
EXAMPLES = 128


def _probe(model_dir: str) -> dict:
    """Seconds and a digest of the adversarial images of each attack, in this process."""
    import fixtures
    from suite_costs import _attack, _digits

    from robustfx.robustness.models.saved_models import load_logits_fn

    logits_fn, shape = load_logits_fn(model_dir)
    x, y = _digits(fixtures.arrays, EXAMPLES)
    out = {}
    for name in ATTACKS:
        attack = _attack(name, logits_fn, shape)
        attack(x[:8], y[:8]).numpy()  # trace
        start = time.perf_counter()
        adversarial = attack(x, y).numpy()
        out[name] = {
            "seconds": time.perf_counter() - start,
            "digest": hashlib.sha1(adversarial.tobytes()).hexdigest(),
        }
    return out


def onednn_vs_eigen(model_dir: str, repetitions: int) -> dict:
    """Eigen seconds over oneDNN seconds per attack, fresh processes, alternating."""
    from stats import summary

    runs = {"0": [], "1": []}
    for _ in range(repetitions):
        for setting in runs:
            env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting, TF_CPP_MIN_LOG_LEVEL="3")
            completed = subprocess.run(
                [sys.executable, os.path.abspath(__file__), model_dir],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[setting].append(json.loads(completed.stdout.strip().splitlines()[-1]))
    per_attack = {}
    for name in ATTACKS:
        eigen = [run[name]["seconds"] for run in runs["0"]]
        onednn = [run[name]["seconds"] for run in runs["1"]]
        per_attack[name] = summary(
            [e / o for e, o in zip(eigen, onednn, strict=True)],
            eigen_seconds=min(eigen),
            onednn_seconds=min(onednn),
        )
    deterministic = {
        setting: all(len({run[n]["digest"] for run in done}) == 1 for n in ATTACKS)
        for setting, done in runs.items()
    }
    overall = [
        sum(e[n]["seconds"] for n in ATTACKS) / sum(o[n]["seconds"] for n in ATTACKS)
        for e, o in zip(runs["0"], runs["1"], strict=True)
    ]
    return summary(
        overall,
        examples=EXAMPLES,
        per_attack=per_attack,
        identical_across_repetitions={"eigen": deterministic["0"], "onednn": deterministic["1"]},
        unit="Eigen seconds / oneDNN seconds, APGD-CE 20 + Square 300 (above 1: oneDNN faster)",
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import robustfx  # noqa: F401  (pins Keras 2; keeps the TF_ENABLE_ONEDNN_OPTS given)

    print(json.dumps(_probe(sys.argv[1])))
