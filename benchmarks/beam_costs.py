"""What scale costs: the evaluator's peak memory as the split grows, and Beam's worker
scaling for Transform and the evaluator on this machine."""

import os
import shutil
import statistics
import subprocess
import sys
import time

from stats import summary

HERE = os.path.dirname(os.path.abspath(__file__))

from fixtures import beam_args, evaluator_seconds, trained_model_dir, transformed_examples  # noqa: E402

_RSS_CHILD = r"""
import sys, resource
import robustfx
from robustfx.data.metadata import read_dataset_info
from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.cli.gate import run_gate
info = read_dataset_info(sys.argv[2])
config = EvaluationConfig(attacks=(AttackConfig.from_name("fgsm_linf_0.2"),),
    thresholds=ThresholdConfig(min_robust_accuracy={}), epsilon_sweep=(), report_examples=0)
run_gate(sys.argv[1], info, "test", config, beam_args=["--runner=DirectRunner"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


COPIES = 50  # large enough that a growing evaluator would show: about 50,000 digits


def _repeated_dataset(workdir: str, info):
    """The dataset with its test split repeated ``COPIES`` times (same metadata otherwise)."""
    import tensorflow as tf

    from robustfx.data.metadata import read_dataset_info

    big = os.path.join(workdir, f"x{COPIES}", info.name, info.version)
    if not os.path.isdir(big):
        shutil.copytree(info.directory, big)
        source = os.path.join(info.directory, f"{info.name}-test.tfrecord-00000-of-00001")
        target = os.path.join(big, f"{info.name}-test.tfrecord-00000-of-00001")
        with tf.io.TFRecordWriter(target) as writer:
            for _ in range(COPIES):
                for record in tf.data.TFRecordDataset(source):
                    writer.write(record.numpy())
    return read_dataset_info(big)


def evaluator_memory(workdir: str, info, repetitions: int) -> dict:
    """Peak RSS of the evaluator on the test split at 1x and at ``COPIES`` times its size, and
    the part that depends on the data (the difference) beside the split's size on disk."""
    model_dir = trained_model_dir(workdir)
    big = _repeated_dataset(workdir, info)
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
    shard = os.path.join(big.directory, f"{info.name}-test.tfrecord-00000-of-00001")
    return summary(
        ratios,
        copies=COPIES,
        peak_rss_mib_1x=statistics.median(small),
        peak_rss_mib_large=statistics.median(large),
        data_dependent_mib=statistics.median(large) - statistics.median(small),
        large_split_mib=os.path.getsize(shard) / 2**20,
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
        options=beam.options.pipeline_options.PipelineOptions(beam_args(workers))
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
    model_dir = trained_model_dir(workdir)
    four = transformed_examples(workdir, info, 4)
    evaluator, transform = [], []
    for _ in range(repetitions):
        n1, one = evaluator_seconds(model_dir, four, "pgd10_linf_0.2", workers=1)
        n2, two = evaluator_seconds(model_dir, four, "pgd10_linf_0.2", workers=2)
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
