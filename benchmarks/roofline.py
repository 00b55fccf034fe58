"""The standard suite against the machine's peak: how many FLOP/s the attacks achieve.

- **FLOPs per example**, from the model's layers: a convolution or dense layer costs
  2 * multiply-accumulates (bias, activations and pooling are not counted). One forward
  pass is their sum, F. Convention: one gradient evaluation (an attack step) costs a forward
  and a backward pass, and the backward pass counts as 2 F (the usual estimate: the data and
  the weight gradients each cost about F; an attack needs only the data gradient, so the
  figure with a 1 F backward, the least work an input gradient takes, is reported too).
- **Evaluations**, counted by the suite itself: the model's ``logits_fn`` is wrapped so that
  every traced forward pass adds its batch to a counter, and every backward pass through it
  to another. The standard suite then runs exactly as the evaluator runs it per batch
  (``ModelUnderAttack.count``: FGSM reference, epsilon sweep, noise controls, cascade).
- **Peak**: the best of a few large float32 matrix products (``tf.linalg.matmul``) in this
  same process, 2 * n**3 FLOPs each.
"""

import time
from typing import Callable

import numpy as np


def forward_flops(model_dir: str) -> int:
    """FLOPs of one forward pass of one example: 2 * MACs of each Conv2D and Dense layer."""
    import tensorflow as tf

    model = tf.keras.models.load_model(model_dir, compile=False)
    total = 0
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.Conv2D):
            _, height, width, filters = layer.output_shape
            kernel_h, kernel_w, channels, _ = layer.kernel.shape
            total += 2 * height * width * filters * kernel_h * kernel_w * channels
        elif isinstance(layer, tf.keras.layers.Dense):
            inputs, units = layer.kernel.shape
            total += 2 * inputs * units
    return int(total)


def peak_flops(size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` float32 ``size`` x ``size`` matrix products."""
    import tensorflow as tf

    a = tf.random.uniform([size, size])
    b = tf.random.uniform([size, size])
    product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    product().numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def counting(logits_fn):
    """``logits_fn`` that counts the examples of every forward and every backward pass, in
    two int64 variables (``.forward``, ``.backward``), also inside traced loops."""
    import tensorflow as tf

    forward = tf.Variable(0, dtype=tf.int64, trainable=False)
    backward = tf.Variable(0, dtype=tf.int64, trainable=False)

    @tf.custom_gradient
    def tap(images):
        def gradient(upstream):
            with tf.control_dependencies([backward.assign_add(tf.shape(upstream, tf.int64)[0])]):
                return tf.identity(upstream)

        return tf.identity(images), gradient

    def counted(images):
        with tf.control_dependencies([forward.assign_add(tf.shape(images, tf.int64)[0])]):
            return logits_fn(tap(images))

    counted.forward, counted.backward = forward, backward
    counted.saved_model = logits_fn.saved_model
    return counted


def standard_suite_roofline(
    model_dir: str, arrays: Callable, examples: int = 1000, batch: int = 128
) -> dict:
    """Achieved FLOP/s of the standard suite (as the evaluator runs it per batch, on the
    first ``examples`` test digits) over the peak of a large matmul, both measured in this
    run. Its worst case is checked against the independent 100-step PGD on the same digits."""
    import independent_pgd
    import tensorflow as tf

    from robustfx.base.evaluation_config import EvaluationConfig
    from robustfx.robustness.verdict.model_under_attack import AttackPlan, ModelUnderAttack

    _, _, images, labels = arrays()
    images, labels = images[:examples], labels[:examples].astype(np.int64)
    config = EvaluationConfig(suite="standard", batch_size=batch, report_examples=0)
    model = ModelUnderAttack(model_dir, AttackPlan.of(config), seed=0, num_classes=10)
    model.logits_fn = counting(model.logits_fn)  # before the first trace
    start, survivors = time.perf_counter(), 0
    for first in range(0, len(labels), batch):
        x = tf.constant(images[first : first + batch])
        y = tf.constant(labels[first : first + batch])
        survivors += int(model.count(x, y, 10)[1]["worst"].sum())
    seconds = time.perf_counter() - start
    pgd = independent_pgd.pgd_accuracy(
        independent_pgd.load_logits_fn(model_dir), images, labels, 0.2, 100
    )
    forward, backward = int(model.logits_fn.forward.numpy()), int(model.logits_fn.backward.numpy())
    flops = forward_flops(model_dir)
    peak = peak_flops()
    work = {"2F": (forward + 2 * backward) * flops, "1F": (forward + backward) * flops}
    return {
        "median": work["2F"] / seconds / peak,
        "repetitions": 1,
        "fraction_if_backward_1x": work["1F"] / seconds / peak,
        "forward_flops_per_example": flops,
        "forward_passes": forward,
        "backward_passes": backward,
        "suite_seconds": seconds,
        "examples": len(labels),
        "worst_case_robust_accuracy": survivors / len(labels),
        "independent_pgd100_accuracy": pgd,
        "achieved_gflops": work["2F"] / seconds / 1e9,
        "peak_gflops_matmul": peak / 1e9,
        "convention": "gradient evaluation = forward F + backward 2F; conv/dense 2*MACs",
    }
