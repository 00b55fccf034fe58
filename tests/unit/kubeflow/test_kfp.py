"""Kubeflow: the compiled KFP v2 spec, the container image, and scheduling against a fake
KFP server (no cluster here; see the README for what needs one)."""

import importlib
import json

import pytest

from robustfx.base.beam_config import BeamConfig
from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.data import prepare
from robustfx.kubeflow.config import (
    AcceleratorConfig,
    ScheduleConfig,
    TrainerReplicasConfig,
)
from robustfx.kubeflow.cron import normalize_cron
from robustfx.kubeflow.oss_rules import oss_refusals
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


@pytest.mark.parametrize("target", ["vertex", "oss"])
def test_production_is_found_by_a_container_task_never_cached_with_the_ingest(
    spec, oss_spec, target
):
    """No resolver in any spec: the ProductionModel component (a container) finds the model
    that serves. It and the ingest look at the world afresh every run: no cache for them,
    while the rest keeps KFP's cache (new inputs are new cache keys)."""
    _, job = {"vertex": spec, "oss": oss_spec}[target]
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    assert all(set(executor) == {"container"} for executor in executors.values())
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert "ProductionModel" in tasks["RobustnessEvaluator"]["dependentTasks"]
    assert "ProductionModel" not in tasks["Evaluator"].get("dependentTasks", [])
    never = {name for name, task in tasks.items() if not task.get("cachingOptions", {}).get(
        "enableCache")}  # fmt: skip
    assert never == {"ImportExampleGen", "ProductionModel"}
    lookup = tasks["ProductionModel"]["inputs"]["parameters"]["lookup"]["runtimeValue"]
    assert lookup["constant"] == ""  # the same spec every night
    for executor in executors.values():
        command = executor["container"]["command"] + executor["container"]["args"]
        assert "robustfx.kubeflow.entrypoint" in command
        assert not any("kubeflow_v2_run_executor" in part for part in command)


def test_the_oss_spec_passes_open_source_kfps_rules_and_reads_the_object_store_secret(oss_spec):
    _, job = oss_spec
    assert oss_refusals(job["pipelineSpec"]) == []
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    trainer = executors["Trainer_executor"]["container"]
    assert trainer["resources"]["accelerator"] == {"type": "nvidia.com/gpu", "count": "1"}
    secrets = job["platformSpec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(secrets) == set(executors)
    for entry in secrets.values():
        (secret,) = entry["secretAsEnv"]
        assert secret["secretName"] == "robustfx-s3"
        assert {k["secretKey"]: k["envVar"] for k in secret["keyToEnv"]} == {
            "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
        }
    for executor in executors.values():
        env = {e["name"]: e["value"] for e in executor["container"]["env"]}
        assert env == {"AWS_ENDPOINT_URL": "http://minio-service.kubeflow:9000",
                       "AWS_REGION": "us-east-1"}  # fmt: skip
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "s3://mlpipeline/robustfx/root"
    # The verdict in the KFP UI: the evaluator's figures and report as KFP's system types.
    component = job["pipelineSpec"]["components"]["RobustnessEvaluator"]
    outputs = component["outputDefinitions"]["artifacts"]
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert outputs["report"]["artifactType"]["schemaTitle"] == "system.HTML"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--accelerator-kind", "gpu", "--accelerator-type", "NVIDIA_TESLA_T4",
          "--accelerator-count", "1"], "is not a Kubernetes resource name"),
        (["--trainer-replicas", "2", "--vertex-project", "p", "--vertex-region", "r"],
         "open-source KFP does not have"),
        (["--kfp-serving-dir", "minio://mlpipeline/serving"],
         "give 's3://mlpipeline/serving'"),
    ],
)  # fmt: skip
def test_what_open_source_kfp_cannot_run_is_refused_at_compile_time(
    small_mnist, tmp_path, capsys, flags, message
):
    output = tmp_path / "spec.json"
    assert compile_spec(small_mnist[0], output, *flags) == commands.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not output.exists()


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
    # What the image copies: tests/unit/architecture (every file the wheel holds).


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
    assert BeamConfig(runner="flink", options={"flink_master": "h:8081"}).cluster_args(
        "r/img:1"
    ) == (
        "--runner=FlinkRunner",
        "--environment_type=DOCKER",
        "--environment_config=r/img:1",
        "--flink_master=h:8081",
    )
    spark = BeamConfig(runner="spark", options={"spark_master_url": "spark://h:7077"})
    assert spark.cluster_args("r/img:1")[:3] == (
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
    assert [a for a in custom.cluster_args("r/img:1") if "sdk_container_image" in a] == [
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
        data_dir, output, "--target", "vertex", "--image", image, "--trainer-replicas", "3",
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
