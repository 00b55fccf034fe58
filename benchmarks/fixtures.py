"""Shared benchmark inputs: the mnist_5k arrays and dataset, a trained CNN, Transform-style
records, and the evaluator run on them through Beam."""

import os
import time
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))


def mnist(data_dir: str):
    from robustfx.data.prepare import prepare_mnist_5k

    return prepare_mnist_5k(data_dir)


def arrays():
    from robustfx.data.prepare import load_mnist_5k, split_mnist_5k

    images, labels = load_mnist_5k()
    splits = split_mnist_5k(images, labels)
    (x, y), (xt, yt) = splits["train"], splits["test"]
    return x.astype("float32") / 255.0, y, xt.astype("float32") / 255.0, yt


def trained_model_dir(workdir: str) -> str:
    import tensorflow as tf

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.export import image_signatures
    from robustfx.trainer.model import build_cnn

    path = os.path.join(workdir, "model")
    if not os.path.isdir(path):
        x, y, _, _ = arrays()
        model = build_cnn(ModelConfig(), (28, 28, 1), 10)
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=1, batch_size=64, verbose=0)
        model.save(path, save_format="tf", signatures=image_signatures(model, (28, 28, 1)))
    return path


def transformed_examples(workdir: str, info, copies: int) -> str:
    """The test split as Transform writes it (gzipped float images in [0, 1]), ``copies``
    times over: what the pipeline's RobustnessEvaluator reads."""
    import tensorflow as tf

    path = os.path.join(workdir, f"transformed_test_x{copies}.gz")
    if not os.path.isfile(path):
        _, _, xt, yt = arrays()
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        with tf.io.TFRecordWriter(path, options) as writer:
            for _ in range(copies):
                for image, label in zip(xt, yt, strict=True):
                    feature = {
                        "image": tf.train.Feature(
                            float_list=tf.train.FloatList(value=image.reshape(-1))
                        ),
                        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                    }
                    example = tf.train.Example(features=tf.train.Features(feature=feature))
                    writer.write(example.SerializeToString())
    return path


def evaluation_config(attack_name: str):
    from robustfx.base.attack_config import AttackConfig
    from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig

    return EvaluationConfig(
        attacks=(AttackConfig.from_name(attack_name),),
        thresholds=ThresholdConfig(min_robust_accuracy={}),
        epsilon_sweep=(),
        corruptions="none",
        batch_size=128,
        report_examples=0,
    )


def beam_args(workers: int) -> List[str]:
    mode = "in_memory" if workers == 1 else "multi_processing"
    return [
        "--runner=DirectRunner",
        f"--direct_running_mode={mode}",
        f"--direct_num_workers={workers}",
    ]


def evaluator_seconds(model_dir: str, files: str, attack_name: str, workers: int = 1) -> tuple:
    """(examples, seconds) of the RobustnessEvaluator's evaluation (its Beam pipeline) on
    transformed examples, including Beam start-up, model loading and tracing."""
    import apache_beam as beam

    from robustfx.robustness.verdict.evaluation import evaluate

    options = beam.options.pipeline_options.PipelineOptions(beam_args(workers))
    start = time.perf_counter()
    result = evaluate(
        lambda: beam.Pipeline(options=options),
        files,
        model_dir,
        evaluation_config(attack_name),
        [str(d) for d in range(10)],
    )
    return result.verdict.candidate.num_examples, time.perf_counter() - start
