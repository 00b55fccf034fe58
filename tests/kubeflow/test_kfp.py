"""Kubeflow: the compiled KFP v2 spec, the container image, and scheduling against a fake
KFP server (no cluster here; see the README for what needs one)."""

import importlib
import json
import os
import pathlib
import sys

import pytest

from robustfx.base.validation import ConfigError
from robustfx.kubeflow.config import AcceleratorConfig, BeamConfig, ScheduleConfig, normalize_cron
from robustfx.pipeline.cli import commands
from robustfx.pipeline.cli import main as cli
from robustfx.pipeline.data import prepare_data

sys.path.insert(0, os.path.dirname(__file__))
from fake_kfp import FakeKfp  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
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


def _compile(data_dir, output, *flags):
    return cli.main(["kfp", "compile", "--data-dir", data_dir, "--output", str(output), *flags])


@pytest.fixture(scope="module")
def spec(small_mnist, tmp_path_factory):
    data_dir, _ = small_mnist
    output = tmp_path_factory.mktemp("kfp") / "pipeline.json"
    code = _compile(
        data_dir,
        output,
        *[
            "--image",
            "europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3",
            "--kfp-pipeline-root",
            "gs://bucket/root",
            "--kfp-serving-dir",
            "gs://bucket/serving",
            "--kfp-data-dir",
            "gs://bucket/tfds",
            "--beam-runner",
            "dataflow",
            "--beam-option",
            "project=proj",
            "--beam-option",
            "region=europe-west4",
            "--beam-option",
            "temp_location=gs://bucket/tmp",
            "--accelerator-kind",
            "gpu",
            "--accelerator-type",
            "NVIDIA_TESLA_T4",
            "--accelerator-count",
            "2",
            "--memory-limit",
            "16",
            "--suite",
            "standard",
        ],
    )
    assert code == 0
    return output, json.loads(output.read_text())


def test_component_graph(spec):
    _, job = spec
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert set(COMPONENTS) <= set(tasks)
    deps = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert deps["StatisticsGen"] == {"ImportExampleGen"}
    assert deps["Transform"] == {"ImportExampleGen", "SchemaGen"}
    assert deps["Trainer"] == {"SchemaGen", "Transform"}
    assert {"Trainer", "Transform", "Evaluator"} <= deps["RobustnessEvaluator"]
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
        f"gs://bucket/tfds/mnist_5k/{prepare_data.MNIST_5K_VERSION}" in text
    )  # ExampleGen reads the cluster's copy


def test_dockerfile_installs_the_project_with_the_pinned_constraints():
    dockerfile = (REPO / "kubeflow" / "Dockerfile").read_text()
    assert dockerfile.splitlines()[3] == "FROM tensorflow/tfx:1.16.0"
    assert "pip install --no-cache-dir -c constraints.txt ." in dockerfile
    assert "TF_USE_LEGACY_KERAS=1" in dockerfile
    for folder in ["robustfx", "pipeline", "components", "trainer", "kubeflow"]:
        assert f"COPY {folder} ./{folder}" in dockerfile
        assert (REPO / folder / "__init__.py").is_file()


def _schedule(spec_path, host, *flags):
    return cli.main(
        [
            "kfp",
            "schedule",
            "--spec",
            str(spec_path),
            "--host",
            host,
            "--token",
            "secret-token",
            *flags,
        ]
    )


def test_schedule_uploads_and_creates_a_recurring_run(spec, capsys):
    path, job = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, "--cron", "0 2 * * *", "--experiment", "nightly") == 0
    calls = [(method, route) for method, route, *_ in kfp.requests]
    assert ("POST", "/apis/v2beta1/pipelines/upload") in calls
    upload = next(r for r in kfp.requests if r[1] == "/apis/v2beta1/pipelines/upload")
    assert upload[2] == {"name": "robustfx"}
    assert b'"pipelineInfo": {"name": "robustfx-mnist-5k"}' in upload[4]
    experiment = next(r for r in kfp.requests if r[:2] == ("POST", "/apis/v2beta1/experiments"))
    assert json.loads(experiment[4])["display_name"] == "nightly"
    run = next(r for r in kfp.requests if r[:2] == ("POST", "/apis/v2beta1/recurringruns"))
    body = json.loads(run[4])
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 2 * * *"
    # The recurring run points at the uploaded version (whose spec is the compiled one).
    assert body["pipeline_version_reference"] == {
        "pipeline_id": "pipeline-1",
        "pipeline_version_id": "version-1",
    }
    upload_body = upload[4].decode(errors="replace")
    assert json.dumps(job["pipelineSpec"]["root"])[:40] in upload_body
    assert body["runtime_config"]["pipeline_root"] == "gs://bucket/root"
    assert body["mode"] == "ENABLE"
    for request in kfp.requests:
        headers = {key.lower(): value for key, value in request[3].items()}
        assert headers["authorization"] == "Bearer secret-token"
    assert "recurring run recurring-" in capsys.readouterr().out


def test_scheduling_twice_leaves_one_recurring_run_on_the_new_version(spec, capsys):
    path, _ = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, "--cron", "0 2 * * *") == 0
        (first,) = kfp.recurring_runs
        assert _schedule(path, kfp.url, "--cron", "0 3 * * *") == 0
    (run,) = kfp.recurring_runs.values()  # one schedule, never two racing on one root
    assert run["recurring_run_id"] != first
    assert run["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert run["pipeline_version_reference"]["pipeline_version_id"] == "version-2"
    deleted = [r for r in kfp.requests if r[0] == "DELETE"]
    assert [r[1] for r in deleted] == [f"/apis/v2beta1/recurringruns/{first}"]
    assert f"(replaced {first})" in capsys.readouterr().out.splitlines()[-1]


def test_existing_pipeline_gets_a_new_version(spec):
    path, _ = spec
    with FakeKfp(pipelines={"robustfx": "pipeline-7"}) as kfp:
        assert _schedule(path, kfp.url) == 0
    routes = [route for _, route, *_ in kfp.requests]
    assert "/apis/v2beta1/pipelines/upload" not in routes
    version = next(r for r in kfp.requests if r[1] == "/apis/v2beta1/pipelines/upload_version")
    assert version[2]["pipelineid"] == "pipeline-7"


@pytest.mark.parametrize(
    "status, message",
    [(401, "refused the credentials"), (404, "has no such API"), (500, "HTTP 500")],
)
def test_server_errors_give_a_clear_message(spec, capsys, status, message):
    path, _ = spec
    with FakeKfp(fail_with=status) as kfp:
        assert _schedule(path, kfp.url) == commands.EXIT_FAILED
    assert message in capsys.readouterr().err


def test_unreachable_host(spec, capsys):
    path, _ = spec
    assert _schedule(path, "http://127.0.0.1:9") == commands.EXIT_FAILED
    assert "cannot reach KFP at http://127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--cron", "61 2 * * *"], "value 61 is outside [0, 59]"),
        (["--cron", "every night"], "must have 5 or 6 fields"),
        (["--cron", "0 0 3 * * FUNDAY"], "'FUNDAY' is not valid"),
    ],
)
def test_bad_cron_is_rejected_before_anything_is_sent(spec, capsys, flags, message):
    path, _ = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, *flags) == commands.EXIT_USAGE
    assert kfp.requests == []
    assert message in capsys.readouterr().err


def test_negative_accelerator_count_is_rejected_before_compiling(small_mnist, tmp_path, capsys):
    data_dir, _ = small_mnist
    output = tmp_path / "p.json"
    code = _compile(data_dir, output, "--accelerator-count", "-1")
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
    assert BeamConfig(runner="flink", options={"flink_master": "h:8081"}).args() == (
        "--runner=FlinkRunner",
        "--environment_type=LOOPBACK",
        "--flink_master=h:8081",
    )
    assert BeamConfig(runner="spark", options={"spark_master_url": "spark://h:7077"}).args()[0] == (
        "--runner=SparkRunner"
    )
    with pytest.raises(ConfigError, match="must be an http"):
        ScheduleConfig(host="kfp.example.com")
