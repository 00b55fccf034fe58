"""The Trainer's ``run_fn`` on two workers: two local processes with ``TF_CONFIG`` on
127.0.0.1, as Vertex AI and Kubeflow multi-worker jobs start them, on the shared run's own
Transform output, against the shared run's own Trainer (the same ``run_fn`` on one worker)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import portpicker
import tensorflow as tf
from google.protobuf import json_format
from tfx.proto import trainer_pb2

from robustfx.base import keys
from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.data.metadata import locate_dataset
from robustfx.pipeline.production import create_pipeline
from robustfx.robustness.models.examples import ExampleReader
from tests.helpers.paths import REPO
from tests.helpers.pipeline_runs import RUN_FLAGS

REPLICA = REPO / "tests" / "helpers" / "run_fn_replica.py"
# Two workers see the examples in another order and split each global batch between them,
# so their model differs from the one-worker model; 2 epochs on 720 digits leave it at
# roughly 0.65 clean accuracy, where that difference is a few points.
ACCURACY_TOLERANCE = 0.08


def _newest(root: pathlib.Path, pattern: str) -> pathlib.Path:
    return max(root.glob(pattern), key=lambda p: int(p.name))


def _trainer_fn_args(root: pathlib.Path, data_dir: str) -> dict:
    """The Trainer's fn_args as TFX builds them, from the production graph's own Trainer."""
    pipeline_root = root / "pipeline_root"
    flags = ["run", *RUN_FLAGS, "--data-dir", data_dir, "--pipeline-root", str(pipeline_root)]
    config = commands.run_config(cli.build_parser().parse_args(flags))
    dataset = locate_dataset(config.data.dataset, data_dir)
    (trainer,) = [c for c in create_pipeline(config, dataset).components if c.id == "Trainer"]
    props = trainer.exec_properties

    def proto(key, message):
        value = props[key]
        return json_format.Parse(value, message) if isinstance(value, str) else value

    train_args = proto("train_args", trainer_pb2.TrainArgs())
    eval_args = proto("eval_args", trainer_pb2.EvalArgs())
    custom_config = props["custom_config"]
    if isinstance(custom_config, str):
        custom_config = json.loads(custom_config)
    examples = _newest(pipeline_root / "ImportExampleGen" / "examples", "*")
    return {
        "custom_config": custom_config,
        "transform_output": str(_newest(pipeline_root / "Transform" / "transform_graph", "*")),
        "train_files": [str(examples / "Split-train" / "*")],
        "eval_files": [str(examples / f"Split-{eval_args.splits[0]}" / "*")],
        "train_steps": int(train_args.num_steps),
        "eval_steps": int(eval_args.num_steps),
    }


def _start(fn_args: dict, out: pathlib.Path, tf_config=None) -> subprocess.Popen:
    out.mkdir(parents=True)
    spec = {**fn_args, "serving_model_dir": str(out / "model"), "model_run_dir": str(out / "run")}
    (out / "fn_args.json").write_text(json.dumps(spec))
    (out / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TMPDIR"] = str(out / "tmp")
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    log = open(out / "log.txt", "w")
    return subprocess.Popen(
        [sys.executable, str(REPLICA), str(out / "fn_args.json")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait(process: subprocess.Popen, out: pathlib.Path) -> None:
    assert process.wait(timeout=600) == 0, (out / "log.txt").read_text()[-3000:]


def _accuracy(model_dir: pathlib.Path, raw_shape, examples: str) -> float:
    """Clean accuracy on raw TFDS records, decoded as Transform does."""
    reader = ExampleReader(raw_shape, raw_shape)
    dataset = tf.data.TFRecordDataset(tf.io.gfile.glob(examples), compression_type="GZIP")
    serve = tf.saved_model.load(str(model_dir)).signatures[keys.TRANSFORMED_SIGNATURE]
    correct = total = 0
    for batch in dataset.batch(256):
        images, labels = reader.parse(batch)
        classes = serve(image=images)[keys.CLASSES_KEY].numpy()
        correct += int(np.sum(classes == labels.numpy()))
        total += len(classes)
    return correct / total


def test_run_fn_on_two_workers_exports_one_model_close_to_the_single_worker_one(
    first_run, small_mnist, tmp_path
):
    root, info, _ = first_run
    data_dir, _ = small_mnist
    fn_args = _trainer_fn_args(root, data_dir)
    ports = [portpicker.pick_unused_port() for _ in range(2)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = [
        _start(
            fn_args,
            tmp_path / f"worker{i}",
            {"cluster": cluster, "task": {"type": "worker", "index": i}},
        )
        for i in range(2)
    ]
    for i, process in enumerate(workers):
        _wait(process, tmp_path / f"worker{i}")

    chief, other = tmp_path / "worker0", tmp_path / "worker1"
    log = (chief / "log.txt").read_text()
    # MultiWorkerMirroredStrategy's class is CollectiveAllReduceStrategy.
    assert "CollectiveAllReduceStrategy on 2 replica(s), 2 worker(s)" in log
    model = tf.saved_model.load(str(chief / "model"))
    assert set(model.signatures) == {
        keys.SERVING_SIGNATURE,
        keys.TRANSFORMED_SIGNATURE,
        keys.ACTIVATIONS_SIGNATURE,
    }
    assert (chief / "run" / "history.json").exists()
    # The other worker wrote its copy to a temporary directory and removed it.
    assert not (other / "model").exists() and not (other / "run").exists()
    assert list((other / "tmp").iterdir()) == []

    test_files = str(pathlib.Path(fn_args["train_files"][0]).parent.parent / "Split-test" / "*")
    two = _accuracy(chief / "model", info.image_shape, test_files)
    # One worker: the shared run's own Trainer ran the same run_fn on the same fn_args.
    single = _newest(root / "pipeline_root" / "Trainer" / "model", "*") / "Format-Serving"
    one = _accuracy(single, info.image_shape, test_files)
    assert abs(two - one) <= ACCURACY_TOLERANCE, (two, one)
    assert two > 0.3  # it learned: 10 classes, chance is 0.1
