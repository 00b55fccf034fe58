"""The GPU check: one prepared run on a machine with an NVIDIA GPU (``scripts/gpu-check``).

It prints the devices TensorFlow sees and the strategy the Trainer picks, trains the default
recipe (NSL PGD-3) for a fixed number of steps under that strategy and asserts that its ops
ran on the GPU (the variables' and outputs' device placement, and the GPU's peak memory),
then measures the adversarial-to-clean training step ratio and the attack suite's gradient
throughput on the 1,000 mnist_5k test digits, and writes the figures as JSON.

Usage: python benchmarks/gpu_check.py [--output FILE] [--steps N] [--allow-cpu]
(``--allow-cpu`` runs every step on a machine without a GPU, as a dry run, and skips only
the placement assertion.)
"""

import argparse
import json
import os
import sys
import tempfile
import time

import attack_suite
import fixtures
from run import training_step_ratio

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

HERE = os.path.dirname(os.path.abspath(__file__))


def devices() -> dict:
    import tensorflow as tf

    from robustfx.trainer.strategy import select_strategy

    strategy = select_strategy("auto")
    return {
        "tensorflow": tf.__version__,
        "physical_devices": [d.name for d in tf.config.list_physical_devices()],
        "gpus": [d.name for d in tf.config.list_logical_devices("GPU")],
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
    }, strategy


def train_on_strategy(strategy, steps: int) -> dict:
    """The default recipe trained for ``steps`` steps; where its variables and outputs live."""
    import tensorflow as tf

    from robustfx.base.training_config import AdversarialConfig, ModelConfig
    from robustfx.trainer import model as model_lib

    x, y, xt, _ = fixtures.arrays()
    data = tf.data.Dataset.from_tensor_slices({"image": x, "label": y}).repeat().batch(32)
    with strategy.scope():
        base = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
        model = model_lib.wrap_adversarial(base, AdversarialConfig())
        model_lib.compile_for_training(model, 1e-3)
    start = time.perf_counter()
    history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    output = base(tf.constant(xt[:8]))
    placement = {
        "variables": sorted({v.device for v in base.trainable_variables}),
        "output": output.device,
    }
    if tf.config.list_logical_devices("GPU"):
        placement["gpu_peak_memory_bytes"] = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    return {
        "steps": steps,
        "seconds": round(seconds, 2),
        "steps_per_second": round(steps / seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "placement": placement,
    }


def ran_on_gpu(training: dict) -> bool:
    placement = training["placement"]
    return (
        all("GPU" in device for device in placement["variables"])
        and "GPU" in placement["output"]
        and placement.get("gpu_peak_memory_bytes", 0) > 0
    )


def suite_throughput(workdir: str) -> dict:
    """Gradient evaluations per second of APGD-CE-100 on the 1,000 test digits, and the same
    over a bare PGD loop (the benchmark's figure), on the default recipe's model."""
    import tensorflow as tf

    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks.dispatch import compile_attack
    from robustfx.robustness.models.saved_models import load_logits_fn

    model_dir = attack_suite.robust_model_dir(workdir, fixtures.arrays)
    _, _, xt, yt = fixtures.arrays()
    logits_fn, shape = load_logits_fn(model_dir)
    attack = compile_attack(AttackConfig.from_name("apgdce100_linf_0.2"), logits_fn, 0, shape)
    images, labels = tf.constant(xt[:1000]), tf.constant(yt[:1000])
    attack(images[:8], labels[:8])  # trace
    start = time.perf_counter()
    attack(images, labels).numpy()
    seconds = time.perf_counter() - start
    return {
        "apgdce100_1000_digits_seconds": round(seconds, 2),
        "gradient_evaluations_per_second": round(1000 * 101 / seconds),
        "suite_vs_bare_pgd_gradient_throughput": attack_suite.suite_vs_bare_loop(
            model_dir, fixtures.arrays, repetitions=3
        ),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join(HERE, "out", "gpu_check.json"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--ratio-repetitions", type=int, default=5)
    parser.add_argument("--allow-cpu", action="store_true")
    args = parser.parse_args(argv)

    found, strategy = devices()
    print(json.dumps(found, indent=2), flush=True)
    if not found["gpus"] and not args.allow_cpu:
        print("gpu-check: TensorFlow sees no GPU (see the devices above)", file=sys.stderr)
        return 1
    training = train_on_strategy(strategy, args.steps)
    on_gpu = ran_on_gpu(training)
    print(f"training: {json.dumps(training)}", flush=True)
    if found["gpus"] and not on_gpu:
        print("gpu-check: the training ops did not run on the GPU", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as workdir:
        figures = {
            "devices": found,
            "training": training,
            "ran_on_gpu": on_gpu,
            "adv_training_step_ratio": training_step_ratio(
                "default", repetitions=args.ratio_repetitions, steps=40
            ),
            "attack_suite": suite_throughput(workdir),
        }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(figures, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(figures, indent=2, sort_keys=True))
    print(f"gpu-check: figures in {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
