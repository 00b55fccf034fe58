"""What the pipeline costs over a plain script doing the same training and attacks, and
what a re-run with nothing changed costs, with the seconds of each component.

The script trains the default recipe for the default epochs and runs the default
evaluation's attacks (references, cascade, epsilon sweep) on every test digit: an upper
bound on the script's work, since the pipeline's cascade attacks only unbroken examples.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List

from stats import summary


def _run_cli(args: List[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "robustfx.cli.main", *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


_SCRIPT = r"""
import time, sys
import robustfx
import numpy as np, tensorflow as tf
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.training_config import AdversarialConfig, ModelConfig, TrainingConfig
from robustfx.data.prepare import load_mnist_5k, split_mnist_5k
from robustfx.trainer import model as m
from robustfx.robustness.attacks.dispatch import run_attack
start = time.perf_counter()
s = split_mnist_5k(*load_mnist_5k())
x, y = s["train"][0] / 255.0, s["train"][1]
xt, yt = s["test"][0].astype("float32") / 255.0, s["test"][1]
tf.keras.utils.set_random_seed(42)
base = m.build_cnn(ModelConfig(), (28, 28, 1), 10)
adv = m.wrap_adversarial(base, AdversarialConfig())
m.compile_for_training(adv, 1e-3)
adv.fit({"image": x.astype("float32"), "label": y}, batch_size=32,
        epochs=TrainingConfig().epochs, verbose=0)
evaluation = EvaluationConfig()
for attack in (*evaluation.references(), *evaluation.cascade(), *evaluation.sweep()):
    for i in range(0, 1000, 128):
        xi, yi = tf.constant(xt[i:i+128]), tf.constant(yt[i:i+128])
        run_attack(attack, base, xi, yi, num_classes=10)
print(time.perf_counter() - start)
"""


def pipeline_overhead(workdir: str, data_dir: str) -> dict:
    """Full local pipeline vs a plain in-process script doing the same training, evaluation
    and attacks; then two re-runs with nothing changed.

    The first re-run is not fully cached by design: the first run's model is now the blessed
    baseline, so TFMA, the RobustnessEvaluator and the Pusher see a new input and run again.
    From the second re-run on, nothing at all changed, and every component is cached.
    """
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    root = os.path.join(workdir, "pipeline")
    shutil.rmtree(root, ignore_errors=True)
    args = ["run", "--data-dir", data_dir, "--pipeline-root", os.path.join(root, "root"),
            "--serving-dir", os.path.join(root, "serving"),
            "--threshold", "clean=0", "--threshold", "worst_case=0"]  # fmt: skip
    first = _run_cli(args, env)
    with_new_baseline = _run_cli(args, env)
    unchanged = _run_cli(args, env)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _SCRIPT], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    script = time.perf_counter() - start
    return {
        "pipeline_vs_script_time_ratio": summary(
            [first / script], pipeline_s=first, script_s=script
        ),
        "cached_rerun_fraction": summary(
            [unchanged / first],
            first_s=first,
            cached_s=unchanged,
            first_rerun_s=with_new_baseline,
            first_rerun_fraction=with_new_baseline / first,
            target=0.10,
        ),
        "component_seconds_first_run": _component_seconds(
            os.path.join(root, "root", "metadata.sqlite")
        ),
    }


def _component_seconds(metadata_path: str) -> Dict[str, float]:
    """Seconds per component of the first run, from ML Metadata execution records."""
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    types = {t.id: t.name.rsplit(".", 1)[-1] for t in store.get_execution_types()}
    seconds: Dict[str, float] = {}
    for execution in store.get_executions():
        name = types[execution.type_id]
        if name in seconds:  # keep each component's first execution only
            continue
        span = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
        seconds[name] = round(span, 2)
    return seconds


def refusal_vs_help(repetitions: int) -> dict:
    """Seconds to refuse a bad flag over seconds to print ``--help``, side by side: both
    must stay clear of importing TensorFlow, TFX or Beam."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")

    def seconds(args: List[str]) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "robustfx.cli.main", *args], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        return time.perf_counter() - start

    refusals, helps = [], []
    for _ in range(repetitions):
        refusals.append(seconds(["run", "--epochs", "-1"]))
        helps.append(seconds(["--help"]))
    return summary(
        [r / h for r, h in zip(refusals, helps, strict=True)],
        refusal_s=statistics.median(refusals),
        help_s=statistics.median(helps),
        goal_refusal_s=3.0,
        goal_help_s=2.0,
    )
