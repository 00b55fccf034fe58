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
import shutil
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

# Run as a script: this folder is on sys.path.
import attack_suite  # noqa: E402
import pipeline_costs  # noqa: E402
from stats import summary  # noqa: E402

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _mnist(data_dir: str):
    from robustfx.pipeline.data.prepare_data import prepare_mnist_5k

    return prepare_mnist_5k(data_dir)


def _arrays():
    from robustfx.pipeline.data.prepare_data import load_mnist_5k, split_mnist_5k

    images, labels = load_mnist_5k()
    splits = split_mnist_5k(images, labels)
    (x, y), (xt, yt) = splits["train"], splits["test"]
    return x.astype("float32") / 255.0, y, xt.astype("float32") / 255.0, yt


def _step_time(model, batch: dict, steps: int, dict_input: bool) -> float:
    """Seconds per training step, steady state (one warm-up epoch first)."""
    import tensorflow as tf

    if dict_input:
        data = tf.data.Dataset.from_tensors(batch).repeat()
    else:
        data = tf.data.Dataset.from_tensors((batch["image"], batch["label"])).repeat()
    model.fit(data, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps


def training_step_ratio(recipe: str, repetitions: int, steps: int) -> dict:
    """NSL adversarial training step time over a clean step: same CNN, batch and data.

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
    x, y, _, _ = _arrays()
    batch = {"image": x[:32], "label": y[:32]}
    ratios = []
    for _ in range(repetitions):  # clean and adversarial interleaved, fresh models each time
        clean = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
        model_lib.compile_for_training(clean, 1e-3)
        adv = model_lib.wrap_adversarial(
            model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10), adv_config
        )
        model_lib.compile_for_training(adv, 1e-3)
        clean_time = _step_time(clean, batch, steps, dict_input=False)
        adv_time = _step_time(adv, batch, steps, dict_input=True)
        ratios.append(adv_time / clean_time)
    k = adv_config.pgd_iterations
    return summary(ratios, natural_bound=2.0 if k == 1 else k + 1.0, pgd_iterations=k)


def _trained_model_dir(workdir: str) -> str:
    import tensorflow as tf

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.export import image_signatures
    from robustfx.trainer.model import build_cnn

    path = os.path.join(workdir, "model")
    if not os.path.isdir(path):
        x, y, _, _ = _arrays()
        model = build_cnn(ModelConfig(), (28, 28, 1), 10)
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=1, batch_size=64, verbose=0)
        model.save(path, save_format="tf", signatures=image_signatures(model, (28, 28, 1)))
    return path


def _reference_throughput(model_dir: str, attack_name: str, batch_size: int) -> float:
    """Examples/s of the minimal in-memory loop: one tf.function per batch that attacks and
    predicts, on arrays already in memory."""
    import tensorflow as tf

    from robustfx.base.attack_config import AttackConfig
    from robustfx.robustness.attacks import compile_attack
    from robustfx.robustness.saved_models import load_logits_fn

    _, _, xt, yt = _arrays()
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


def _transformed_examples(workdir: str, info, copies: int) -> str:
    """The test split as Transform writes it (gzipped float images in [0, 1]), ``copies``
    times over: what the pipeline's RobustnessEvaluator reads."""
    import tensorflow as tf

    path = os.path.join(workdir, f"transformed_test_x{copies}.gz")
    if not os.path.isfile(path):
        _, _, xt, yt = _arrays()
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


def _evaluation_config(attack_name: str):
    from robustfx.base.attack_config import AttackConfig
    from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig

    return EvaluationConfig(
        attacks=(AttackConfig.from_name(attack_name),),
        thresholds=ThresholdConfig(min_robust_accuracy={}),
        epsilon_sweep=(),
        batch_size=128,
        report_examples=0,
    )


def _beam_args(workers: int) -> List[str]:
    mode = "in_memory" if workers == 1 else "multi_processing"
    return [
        "--runner=DirectRunner",
        f"--direct_running_mode={mode}",
        f"--direct_num_workers={workers}",
    ]


def _evaluator_seconds(model_dir: str, files: str, attack_name: str, workers: int = 1) -> tuple:
    """(examples, seconds) of the RobustnessEvaluator's evaluation (its Beam pipeline) on
    transformed examples, including Beam start-up, model loading and tracing."""
    import apache_beam as beam

    from robustfx.robustness.evaluation import evaluate

    options = beam.options.pipeline_options.PipelineOptions(_beam_args(workers))
    start = time.perf_counter()
    result = evaluate(
        lambda: beam.Pipeline(options=options),
        files,
        model_dir,
        _evaluation_config(attack_name),
        [str(d) for d in range(10)],
    )
    return result.metrics["candidate"]["num_examples"], time.perf_counter() - start


def evaluator_vs_reference(workdir: str, info, repetitions: int) -> dict:
    """Evaluator throughput over the minimal in-memory loop's, on the same model and data.

    The evaluator's steady-state throughput is the marginal rate between the 1x and 4x split
    (its fixed start-up cost cancels); its end-to-end rate on the 1x split is reported too.
    """
    model_dir = _trained_model_dir(workdir)
    one, four = _transformed_examples(workdir, info, 1), _transformed_examples(workdir, info, 4)
    out = {}
    for attack in ("fgsm_linf_0.2", "pgd10_linf_0.2"):
        steady, end_to_end, fixed = [], [], []
        for _ in range(repetitions):
            n1, t1 = _evaluator_seconds(model_dir, one, attack)
            n4, t4 = _evaluator_seconds(model_dir, four, attack)
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


_RSS_CHILD = r"""
import sys, resource
import robustfx
from robustfx.pipeline.data.datasets import read_dataset_info
from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.pipeline.cli.gate import run_gate
info = read_dataset_info(sys.argv[2])
config = EvaluationConfig(attacks=(AttackConfig.from_name("fgsm_linf_0.2"),),
    thresholds=ThresholdConfig(min_robust_accuracy={}), epsilon_sweep=(), report_examples=0)
run_gate(sys.argv[1], info, "test", config, beam_args=["--runner=DirectRunner"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _x4_dataset(workdir: str, info):
    """The dataset with its test split repeated 4 times (same metadata otherwise)."""
    import tensorflow as tf

    from robustfx.pipeline.data.datasets import read_dataset_info

    big = os.path.join(workdir, "x4", info.name, info.version)
    if not os.path.isdir(big):
        shutil.copytree(info.directory, big)
        source = os.path.join(info.directory, f"{info.name}-test.tfrecord-00000-of-00001")
        target = os.path.join(big, f"{info.name}-test.tfrecord-00000-of-00001")
        with tf.io.TFRecordWriter(target) as writer:
            for _ in range(4):
                for record in tf.data.TFRecordDataset(source):
                    writer.write(record.numpy())
    return read_dataset_info(big)


def evaluator_memory(workdir: str, info, repetitions: int) -> dict:
    """Peak RSS of the evaluator on the test split at 1x and at 4x its size."""
    model_dir = _trained_model_dir(workdir)
    big = _x4_dataset(workdir, info)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")

    def peak(version_dir: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, model_dir, version_dir],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        return float(out.strip().splitlines()[-1]) / 1024.0  # MiB

    ratios, small, large = [], [], []
    for _ in range(repetitions):
        small.append(peak(info.directory))
        large.append(peak(big.directory))
        ratios.append(large[-1] / small[-1])
    return summary(
        ratios,
        peak_rss_mib_1x=statistics.median(small),
        peak_rss_mib_4x=statistics.median(large),
        target=1.2,
    )


def _transform_seconds(info, workers: int, workdir: str) -> tuple:
    """(examples, seconds) of Transform's work (TFT analyze and transform through Beam with
    the project's preprocessing_fn) on the train split's raw records."""
    import functools

    import apache_beam as beam
    import tensorflow as tf
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
    from tfx_bsl.public import tfxio

    from robustfx.trainer.preprocessing import preprocessing_fn

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }
    schema = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec)).schema
    source = tfxio.TFExampleRecord(
        file_pattern=os.path.join(info.directory, info.split_pattern("train")), schema=schema
    )
    config = {
        "image_shape": list(info.image_shape),
        "num_classes": info.num_classes,
        "resize": None,
    }
    temp = os.path.join(workdir, f"tft-{workers}")
    shutil.rmtree(temp, ignore_errors=True)
    start = time.perf_counter()
    with beam.Pipeline(
        options=beam.options.pipeline_options.PipelineOptions(_beam_args(workers))
    ) as pipeline:
        with tft_beam.Context(temp_dir=temp):
            raw = pipeline | "Read" >> source.BeamSource()
            (transformed, _), _ = (raw, source.TensorAdapterConfig()) | (
                tft_beam.AnalyzeAndTransformDataset(
                    functools.partial(preprocessing_fn, custom_config=config),
                    output_record_batches=True,
                )
            )
            _ = transformed | "Count" >> beam.Map(lambda batch: batch[0].num_rows)
    return info.splits["train"], time.perf_counter() - start


def beam_scaling(workdir: str, info, repetitions: int) -> dict:
    """Throughput with direct_num_workers=2 over 1 (multi-processing runner) for Transform's
    work and for the evaluator (on the 4x split, so that start-up weighs less)."""
    model_dir = _trained_model_dir(workdir)
    four = _transformed_examples(workdir, info, 4)
    evaluator, transform = [], []
    for _ in range(repetitions):
        n1, one = _evaluator_seconds(model_dir, four, "pgd10_linf_0.2", workers=1)
        n2, two = _evaluator_seconds(model_dir, four, "pgd10_linf_0.2", workers=2)
        evaluator.append((n2 / two) / (n1 / one))
        m1, t1 = _transform_seconds(info, 1, workdir)
        m2, t2 = _transform_seconds(info, 2, workdir)
        transform.append((m2 / t2) / (m1 / t1))
    return summary(
        evaluator,
        machine_cores=os.cpu_count(),
        evaluator=summary(evaluator),
        transform=summary(transform),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="Run only these result keys.")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(HERE, "results.json"))
    args = parser.parse_args(argv)
    workdir = os.path.join(HERE, "out")
    data_dir = os.path.join(workdir, "tfds")
    info = _mnist(data_dir)
    reps = args.repetitions
    suite: Dict[str, Callable[[], dict]] = {
        "adv_training_step_ratio": lambda: training_step_ratio("default", reps, 40),
        "tutorial_training_step_ratio": lambda: training_step_ratio("tutorial", reps, 60),
        "pgd_training_step_ratio": lambda: training_step_ratio("pgd", reps, 20),
        "evaluator_vs_reference_throughput": lambda: evaluator_vs_reference(workdir, info, reps),
        "evaluator_peak_rss_ratio_4x": lambda: evaluator_memory(workdir, info, reps),
        "beam_scaling_2_vs_1": lambda: beam_scaling(workdir, info, reps),
        "pipeline": lambda: pipeline_costs.pipeline_overhead(workdir, data_dir),
        "cli_refusal_vs_help_ratio": lambda: pipeline_costs.refusal_vs_help(5),
        "suite_vs_bare_pgd_gradient_throughput": lambda: attack_suite.suite_vs_bare_loop(
            attack_suite.robust_model_dir(workdir, _arrays), _arrays, reps
        ),
        "suite_seconds_1000_digits": lambda: attack_suite.standard_suite_seconds(
            attack_suite.robust_model_dir(workdir, _arrays),
            _transformed_examples(workdir, info, 1),
            reps,
        ),
    }
    results = {}
    if os.path.isfile(args.output):
        with open(args.output) as f:
            results = json.load(f)
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
