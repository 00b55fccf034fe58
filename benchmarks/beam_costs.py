"""What scale costs: the evaluator's peak memory as the split grows.

(Beam's worker scaling on this 2-core machine, ``beam_scaling_2_vs_1``, is no longer
measured: two DirectRunner workers only compete with TensorFlow's own threads for the same
two cores.)"""

import os
import shutil
import statistics
import subprocess
import sys

from stats import summary

HERE = os.path.dirname(os.path.abspath(__file__))

from fixtures import trained_model_dir  # noqa: E402

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
