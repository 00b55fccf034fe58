"""Remote storage, for real: the evaluation's counts travel through Beam's own sink to gs://
(a GCS emulator on 127.0.0.1) with two worker processes, and every TensorFlow-side file the
evaluator, the report, the model card and the Pusher touch lives on a non-local scheme.

TensorFlow's built-in gs:// client has no endpoint setting (and the modular GCS plugin
crashed against an emulator here), so the TensorFlow side is tested on ``ram://``, an
in-memory filesystem that no local-path call (``open``, ``os.path``) can reach by accident.
"""

import json
import os
import socket

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.components.atomic_pusher import push_atomically
from robustfx.robustness.models.saved_models import check_signature, load_logits_fn
from robustfx.robustness.presentation import report
from robustfx.robustness.verdict import evaluation
from robustfx.robustness.verdict.outcome import EvaluationResult
from tests.helpers.datasets import write_transformed_examples
from tests.helpers.paths import copy_tree

BUCKET = "robustfx-test"
CLASSES = [str(d) for d in range(10)]
CONFIG = EvaluationConfig(
    attacks=(AttackConfig.from_name("pgd3_linf_0.1"),),
    thresholds=ThresholdConfig(min_clean_accuracy=0.0, min_worst_case_accuracy=0.0),
    epsilon_sweep=(),
    batch_size=25,
    report_examples=0,
    corruptions="quick",  # seeded per example: two worker processes corrupt alike
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gcs():
    """A GCS emulator with one bucket; Beam's GCS client (also in worker processes, which
    inherit the environment) talks to it through STORAGE_EMULATOR_HOST."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    yield f"gs://{BUCKET}"
    server.stop()
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST")
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture(scope="module")
def examples(tmp_path_factory, mnist_arrays):
    images, labels = mnist_arrays["test"]
    path = str(tmp_path_factory.mktemp("examples") / "test.gz")
    return write_transformed_examples(path, images[:100], labels[:100])


def _evaluate(examples, model_dir, output_dir, workers):
    args = ["--runner=DirectRunner", f"--direct_num_workers={workers}"]
    args.append("--direct_running_mode=" + ("multi_processing" if workers > 1 else "in_memory"))
    return evaluation.evaluate(
        lambda: beam.Pipeline(options=PipelineOptions(args)),
        examples,
        os.path.join(model_dir, "Format-Serving"),
        CONFIG,
        CLASSES,
        seed=0,
        output_dir=output_dir,
    )


def test_counts_flow_through_beam_to_gcs_with_two_worker_processes(
    gcs, examples, trained_model_dir, tmp_path
):
    from apache_beam.io.filesystems import FileSystems

    remote = _evaluate(examples, trained_model_dir, f"{gcs}/evaluation", workers=2)
    local = _evaluate(examples, trained_model_dir, str(tmp_path / "evaluation"), workers=1)
    # Written by Beam's sink into the bucket, read back by the launcher from there.
    assert FileSystems.exists(f"{gcs}/evaluation/{evaluation.COUNTS_FILE}")
    assert not os.path.exists(f"{gcs}/evaluation")  # nothing landed on a local 'gs:' path
    assert remote.verdict.candidate.num_examples == 100
    assert remote.details == local.details  # the same counts whatever ran the workers
    assert len(remote.verdict.candidate.corruption_accuracy) == 6  # quick, 1 channel


def test_tensorflow_side_files_live_on_a_non_local_filesystem(trained_model_dir, rng):
    root = f"ram://remote-{rng.randint(1 << 30)}"
    model_dir = f"{root}/model/Format-Serving"
    copy_tree(os.path.join(trained_model_dir, "Format-Serving"), model_dir)
    check_signature(model_dir)  # reads saved_model.pb through tf.io.gfile
    logits_fn, shape = load_logits_fn(model_dir)
    assert shape == (28, 28, 1)
    assert logits_fn(tf.zeros([2, 28, 28, 1])).shape == (2, 10)

    record = {"metrics": {"candidate": _metrics()}, "blessed": True, "suite": ["pgd3_linf_0.1"]}
    html = report.render_report(f"{root}/evaluation", EvaluationResult.from_dict(record))
    assert html == f"{root}/evaluation/{report.REPORT_FILE}"
    with tf.io.gfile.GFile(html) as f:
        assert "data:image/png;base64," in f.read()

    card = {"model_card.json": json.dumps({"name": "card"})}
    pushed = push_atomically(f"{root}/model", f"{root}/serving", "7", card)
    assert pushed == f"{root}/serving/7"
    assert tf.io.gfile.exists(f"{pushed}/Format-Serving/saved_model.pb")
    assert tf.io.gfile.exists(f"{pushed}/model_card.json")
    # Only the version is there (no staging directory on object stores).
    assert [name.rstrip("/") for name in tf.io.gfile.listdir(f"{root}/serving")] == ["7"]


def _metrics():
    accuracy = {"robust_accuracy": 0.5, "robust_accuracy_interval": [0.4, 0.6]}
    return {
        "num_examples": 100,
        "clean_accuracy": 0.9,
        "clean_accuracy_interval": [0.83, 0.95],
        "per_class_clean_accuracy": {"0": 0.9},
        "attacks": {},
        "cascade": [{"attack": "pgd3_linf_0.1", **accuracy, "share": 0.4, "broken": 40,
                     "max_perturbation_norm": 0.1,
                     "per_class_robust_accuracy": {"0": 0.5}}],
        "worst_case_robust_accuracy": 0.5,
        "worst_case_robust_accuracy_interval": [0.4, 0.6],
        "per_class_worst_case_accuracy": {"0": 0.5},
    }  # fmt: skip
