"""`robustfx kfp run-local` on a toy spec: the driver's and launcher's mechanics without TFX
(each task a few lines of Python). Inputs as ML Metadata holds them, parameter values,
output URIs under the run's root, the executor output read back, the records, and a failing
task that stops the run."""

import json
import os

from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.cli import commands
from robustfx.pipeline.mlmd import open_store
from tests.helpers.kubeflow import run_local, write_spec

MAKE = """
import json, os, sys
executor_input = json.loads(sys.argv[1])
out = executor_input["outputs"]["artifacts"]["out"]["artifacts"][0]
os.makedirs(out["uri"])
open(os.path.join(out["uri"], "data"), "w").write("made")
result = {"artifacts": {"out": {"artifacts": [{"uri": out["uri"], "metadata": {"blessed": 1}}]}}}
open(executor_input["outputs"]["outputFile"], "w").write(json.dumps(result))
"""
USE = """
import json, os, sys
executor_input = json.loads(sys.argv[1])
out = executor_input["outputs"]["artifacts"]["seen"]["artifacts"][0]["uri"]
os.makedirs(out)
open(os.path.join(out, "executor_input.json"), "w").write(sys.argv[1])
"""
THING = {"artifactType": {"instanceSchema": "title: toy.Thing\ntype: object\n"}}


def _toy_task(name, script, inputs=None, outputs=None, parameters=None, after=()):
    component = {"executorLabel": f"exec-{name}"}
    task = {"componentRef": {"name": name}, "taskInfo": {"name": name}}
    if after:
        task["dependentTasks"] = list(after)
    if outputs:
        component["outputDefinitions"] = {"artifacts": {key: THING for key in outputs}}
    if inputs or parameters:
        component["inputDefinitions"] = {
            "artifacts": {key: THING for key in inputs or {}},
            "parameters": {key: {"parameterType": "STRING"} for key in parameters or {}},
        }
        task["inputs"] = {
            "artifacts": {
                key: {"taskOutputArtifact": {"producerTask": p, "outputArtifactKey": k}}
                for key, (p, k) in (inputs or {}).items()
            },
            "parameters": {
                key: {"runtimeValue": {"constant": v}} for key, v in (parameters or {}).items()
            },
        }
    executor = {"container": {"image": "toy:1", "command": ["python", "-c", script, "{{$}}"]}}
    return task, component, executor


def _toy_job(root, *tasks):
    job = {
        "pipelineSpec": {
            "pipelineInfo": {"name": "toy"},
            "root": {"dag": {"tasks": {}}},
            "components": {},
            "deploymentSpec": {"executors": {}},
        },
        "runtimeConfig": {"gcsOutputDirectory": str(root)},
    }
    for name, (task, component, executor) in tasks:
        job["pipelineSpec"]["root"]["dag"]["tasks"][name] = task
        job["pipelineSpec"]["components"][name] = component
        job["pipelineSpec"]["deploymentSpec"]["executors"][f"exec-{name}"] = executor
    return job


def test_a_toy_spec_runs_as_kfp_would_and_stops_at_the_failing_task(tmp_path, capsys):
    root = tmp_path / "root"
    job = _toy_job(
        root,
        ("make", _toy_task("make", MAKE, outputs=["out"])),
        ("use", _toy_task("use", USE, {"thing": ("make", "out")}, ["seen"], {"p": 7.0})),
        ("fail", _toy_task("fail", "raise RuntimeError('boom')", after=["use"])),
        ("after", _toy_task("after", "print('never')", after=["fail"])),
    )
    spec = write_spec(tmp_path / "toy.json", job)  # its own root: no --pipeline-root
    summary = tmp_path / "summary.json"
    assert run_local(spec, "--summary-json", str(summary)) == commands.EXIT_FAILED
    err = capsys.readouterr().err
    assert "task fail failed: RuntimeError: boom (log: " in err and "later tasks did not run" in err
    # The summary of a failed run: the tasks that completed, then the failing one and its log.
    record = json.loads(summary.read_text())["run"]
    assert [task["name"] for task in record["tasks"]] == ["make", "use"]
    assert record["failed"]["task"] == "fail" and record["failed"]["error"] == "RuntimeError: boom"
    log = open(record["failed"]["log"]).read()
    assert "Traceback" in log and "RuntimeError: boom" in log
    store = open_store(str(root / "metadata.sqlite"))
    artifacts = {a.custom_properties["display_name"].string_value: a for a in store.get_artifacts()}
    made = artifacts["out"]
    assert made.custom_properties["blessed"].double_value == 1.0  # KFP: numbers as doubles
    (seen,) = [a for a in store.get_artifacts() if a.uri.endswith("/seen")]
    executor_input = json.loads(open(os.path.join(seen.uri, "executor_input.json")).read())
    given = executor_input["inputs"]["artifacts"]["thing"]["artifacts"][0]
    assert given["name"] == str(made.id) and given["uri"] == made.uri
    assert given["metadata"]["blessed"] == 1.0 and given["metadata"]["display_name"] == "out"
    assert given["type"] == THING["artifactType"]
    assert executor_input["inputs"]["parameterValues"] == {"p": "7"}  # a STRING gets the text
    (run,) = store.get_contexts_by_type("system.PipelineRun")
    task_root = os.path.dirname(made.uri)
    assert os.path.dirname(os.path.dirname(task_root)) == str(root / "toy" / run.name)
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in store.get_executions()
    }
    assert states == {
        "": pb.Execution.FAILED,
        "make": pb.Execution.COMPLETE,
        "use": pb.Execution.COMPLETE,
        "fail": pb.Execution.FAILED,
    }


def test_an_importer_feeds_a_task_and_a_cached_task_is_answered_from_the_cache(tmp_path, capsys):
    """The importer records its artifact (URI, type, metadata) for the next task; a task whose
    caching is on runs once, and the next run reuses its outputs (the same artifact)."""
    root = tmp_path / "root"
    imported = tmp_path / "thing"
    imported.mkdir()
    importer = (
        {"componentRef": {"name": "load"}, "taskInfo": {"name": "load"}},
        {"executorLabel": "exec-load", "outputDefinitions": {"artifacts": {"artifact": THING}}},
        {"importer": {"artifactUri": {"constant": str(imported)},
                      "typeSchema": THING["artifactType"], "metadata": {"source": "shelf"}}},
    )  # fmt: skip
    use = _toy_task("use", USE, {"thing": ("load", "artifact")}, ["seen"])
    use[0]["cachingOptions"] = {"enableCache": True}
    spec = write_spec(tmp_path / "toy.json", _toy_job(root, ("load", importer), ("use", use)))
    for _ in range(2):
        assert run_local(spec, "--summary-json", str(tmp_path / "s.json")) == 0
    runs = [json.loads((tmp_path / "s.json").read_text())["run"]["tasks"]]
    (load, used) = runs[0]
    assert load["kind"] == "importer" and load["outputs"]["artifact"][0]["uri"] == str(imported)
    assert load["outputs"]["artifact"][0]["metadata"]["source"] == "shelf"
    store = open_store(str(root / "metadata.sqlite"))
    executions = [e for e in store.get_executions() if e.custom_properties["task_name"]
                  .string_value == "use"]  # fmt: skip
    assert sorted(e.last_known_state for e in executions) == [
        pb.Execution.COMPLETE, pb.Execution.CACHED
    ]  # fmt: skip
    assert used["cached_from"] == min(e.id for e in executions)
    (seen,) = [a for a in store.get_artifacts() if a.uri.endswith("/seen")]  # made once
    given = json.loads(open(os.path.join(seen.uri, "executor_input.json")).read())
    assert given["inputs"]["artifacts"]["thing"]["artifacts"][0]["uri"] == str(imported)
    assert "use: cached (outputs of execution" in capsys.readouterr().out
