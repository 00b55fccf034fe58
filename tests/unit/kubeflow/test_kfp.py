"""Kubeflow: the compiled KFP v2 spec, the container image, and scheduling against a fake
KFP server (no cluster here; see the README for what needs one)."""

import importlib
import json

import pytest

from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.data import prepare
from robustfx.kubeflow.config import (
    AcceleratorConfig,
    BeamConfig,
    ScheduleConfig,
    TrainerReplicasConfig,
    normalize_cron,
)
from tests.helpers.kubeflow import compile_spec
from tests.helpers.paths import REPO

COMPONENTS = [
    "ImportExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Evaluator",
    "RobustnessEvaluator",
    "Pusher",
]


def test_component_graph(spec):
    _, job = spec
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert set(COMPONENTS) <= set(tasks)
    deps = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert deps["StatisticsGen"] == {"ImportExampleGen"}
    assert deps["Transform"] == {"ImportExampleGen", "SchemaGen"}
    # Transform's graph is applied on the fly: the Trainer and the RobustnessEvaluator read
    # ExampleGen's compact records, never a materialized copy of decoded images.
    assert deps["Trainer"] == {"ImportExampleGen", "SchemaGen", "Transform"}
    assert {"ImportExampleGen", "Trainer", "Evaluator"} <= deps["RobustnessEvaluator"]
    assert "Transform" not in deps["RobustnessEvaluator"]
    assert deps["Pusher"] == {"RobustnessEvaluator", "Trainer"}
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/root"


def _executor(job, name):
    return job["pipelineSpec"]["deploymentSpec"]["executors"][f"{name}_executor"]["container"]


def test_image_beam_args_and_accelerators(spec):
    _, job = spec
    for name in COMPONENTS:
        assert _executor(job, name)["image"] == "europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3"
    beam = [
        "--runner=DataflowRunner",
        # The Dataflow workers run the project's image (Keras 2, the project installed).
        "--sdk_container_image=europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3",
        "--project=proj",
        "--region=europe-west4",
        "--temp_location=gs://bucket/tmp",
    ]
    for name in [
        "ImportExampleGen",
        "StatisticsGen",
        "Transform",
        "RobustnessEvaluator",
        "Evaluator",
    ]:
        args = _executor(job, name)["args"]
        assert all(arg in args for arg in beam), (name, args)
    trainer = _executor(job, "Trainer")
    assert trainer["resources"]["accelerator"] == {"type": "NVIDIA_TESLA_T4", "count": "2"}
    assert trainer["resources"]["memoryLimit"] == 16
    assert "resources" not in _executor(job, "Transform")


def test_the_gating_suite_is_compiled_into_the_evaluator(spec):
    path, _ = spec
    text = path.read_text()
    # The evaluator's config travels as a JSON string parameter of its component.
    assert '\\"suite\\": \\"standard\\"' in text


def test_the_baseline_resolver_only_accepts_robustness_evaluator_blessings(spec):
    """TFX compiles the blessed-model resolver to a query by type and blessed=1, which a TFMA
    blessing also matches; the compiled query must require the RobustnessEvaluator's own
    property, which TFMA never sets."""
    _, job = spec
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    filters = [
        query["filter"]
        for executor in executors.values()
        for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values()
        if "tfx.ModelBlessing" in query["filter"]
    ]
    assert filters == [
        'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
        " AND metadata.robustness_blessed.number_value=1"
    ]


def test_module_paths_exist_in_the_package(spec):
    path, job = spec
    text = path.read_text()
    for dotted in [
        "robustfx.trainer.run.run_fn",
        "robustfx.trainer.preprocessing.preprocessing_fn",
    ]:
        assert dotted in text
        module, attr = dotted.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attr))
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    custom = executors["RobustnessEvaluator_executor"]["container"]["args"]
    assert "robustfx.components.robustness_evaluator.executor.Executor" in custom
    importlib.import_module("robustfx.components.robustness_evaluator.executor")
    assert (
        f"gs://bucket/tfds/mnist_5k/{prepare.MNIST_5K_VERSION}" in text
    )  # ExampleGen reads the cluster's copy


def test_dockerfile_installs_the_project_with_the_pinned_constraints():
    dockerfile = (REPO / "kubeflow" / "Dockerfile").read_text()
    assert dockerfile.splitlines()[3] == "FROM tensorflow/tfx:1.16.0"
    assert "pip install --no-cache-dir -c constraints.txt ." in dockerfile
    assert "TF_USE_LEGACY_KERAS=1" in dockerfile
    for folder in ["robustfx", "pipeline", "components", "trainer", "kubeflow"]:
        assert f"COPY {folder} ./{folder}" in dockerfile
        assert (REPO / folder / "__init__.py").is_file()


def test_negative_accelerator_count_is_rejected_before_compiling(small_mnist, tmp_path, capsys):
    data_dir, _ = small_mnist
    output = tmp_path / "p.json"
    code = compile_spec(data_dir, output, "--accelerator-count", "-1")
    assert code == commands.EXIT_USAGE
    assert "accelerator count=-1" in capsys.readouterr().err
    assert not output.exists()


def test_config_values():
    assert normalize_cron("30 2 * * MON-FRI") == "0 30 2 * * MON-FRI"
    assert normalize_cron("0 */15 * * * ?") == "0 */15 * * * ?"
    with pytest.raises(ConfigError, match="needs count >= 1"):
        AcceleratorConfig(kind="gpu", type="NVIDIA_TESLA_T4", count=0)
    with pytest.raises(ConfigError, match="needs option"):
        BeamConfig(runner="flink")
    assert BeamConfig(runner="flink", options={"flink_master": "h:8081"}).args("r/img:1") == (
        "--runner=FlinkRunner",
        "--environment_type=DOCKER",
        "--environment_config=r/img:1",
        "--flink_master=h:8081",
    )
    spark = BeamConfig(runner="spark", options={"spark_master_url": "spark://h:7077"})
    assert spark.args("r/img:1")[:3] == (
        "--runner=SparkRunner",
        "--environment_type=DOCKER",
        "--environment_config=r/img:1",
    )
    # An option naming the workers' environment wins over the project's image.
    custom = BeamConfig(
        runner="dataflow",
        options={"project": "p", "region": "r", "temp_location": "gs://b/t",
                 "sdk_container_image": "other:2"},
    )  # fmt: skip
    assert [a for a in custom.args("r/img:1") if "sdk_container_image" in a] == [
        "--sdk_container_image=other:2"
    ]
    with pytest.raises(ConfigError, match="--vertex-project and --vertex-region"):
        TrainerReplicasConfig(replicas=2)
    with pytest.raises(ConfigError, match="must be an http"):
        ScheduleConfig(host="kfp.example.com")


def test_trainer_replicas_compile_to_a_vertex_multi_worker_job(small_mnist, tmp_path):
    data_dir, _ = small_mnist
    output = tmp_path / "multi.json"
    image = "europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3"
    code = compile_spec(
        data_dir, output, "--image", image, "--trainer-replicas", "3",
        "--vertex-project", "proj", "--vertex-region", "europe-west4",
        "--accelerator-kind", "gpu", "--accelerator-type", "NVIDIA_TESLA_T4",
        "--accelerator-count", "1",
    )  # fmt: skip
    assert code == 0
    job = json.loads(output.read_text())
    trainer = _executor(job, "Trainer")
    assert "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor" in (
        " ".join(trainer["args"])
    )
    parameters = job["pipelineSpec"]["components"]["Trainer"]["inputDefinitions"]["parameters"]
    assert "custom_config" in parameters
    config_text = json.dumps(job)
    # Vertex gets the job: a chief and two workers, each on the project's image with a GPU.
    for expected in (
        '\\"replica_count\\": 1',
        '\\"replica_count\\": 2',
        f'\\"image_uri\\": \\"{image}\\"',
        '\\"accelerator_type\\": \\"NVIDIA_TESLA_T4\\"',
        '\\"ai_platform_vertex_region\\": \\"europe-west4\\"',
    ):
        assert expected in config_text, expected
    # run_fn still finds its own settings in the same custom_config.
    assert '\\"image_shape\\": [28, 28, 1]' in config_text
