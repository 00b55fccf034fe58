"""`robustfx kfp run-local`: executes a compiled KFP spec here as open-source KFP's v2 driver
and launcher would, so that the spec about to be uploaded is run, not only read.

Before any task, the spec is held to its platform's rules: with ``--target oss`` (the
default) whatever open-source KFP's backend refuses is refused here, in its words
(``oss_rules``). Tasks run one at a time in dependency order. A container task gets the
ExecutorInput that KFP's driver builds (parameter values, upstream artifacts as ML Metadata
holds them, output URIs under ``<root>/<pipeline>/<run id>/<task>/<uuid>/``, local or
``s3://``, handed over unchanged as KFP's launcher hands them); its command and args run
exactly as compiled, in a subprocess of this interpreter (the image's environment: the
project installed), with stdout and stderr in a local ``executor.log``; the executor output
file (local, as the launcher's is) is read back and every output recorded in the local
SQLite ML Metadata store (``local_metadata``). A task whose ``cachingOptions`` allow it is
answered from an earlier execution with the same KFP cache key (``cache_key``), as the
cluster would. An importer task records its artifact. The first failing task stops the run;
later tasks do not run.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional

from ml_metadata.proto import metadata_store_pb2 as pb
from tfx.dsl.io import fileio

from robustfx.base.run_config import METADATA_FILE
from robustfx.base.validation import ConfigError, is_remote
from robustfx.kubeflow.local import cache_key
from robustfx.kubeflow.local import tasks as spec_tasks
from robustfx.kubeflow.local.config import LocalRunConfig
from robustfx.kubeflow.local.metadata import CONTAINER_EXECUTION, IMPORTER_EXECUTION, RunRecords
from robustfx.kubeflow.local.outcome import LocalRun, TaskFailed, TaskOutcome, last_error
from robustfx.kubeflow.oss_rules import oss_refusals
from robustfx.kubeflow.schedule import read_pipeline_job
from robustfx.pipeline.mlmd import open_store
from robustfx.pipeline.run_lock import exclusive_run

LOG_FILE = "executor.log"


def _pipeline_root(config: LocalRunConfig, job: Mapping[str, Any]) -> str:
    root = config.pipeline_root or job.get("runtimeConfig", {}).get("gcsOutputDirectory", "")
    if not root:
        raise ConfigError("the spec names no pipeline root: give --pipeline-root")
    return root if is_remote(root) else os.path.abspath(root)


def _metadata_path(config: LocalRunConfig, root: str) -> str:
    if config.metadata:
        return os.path.abspath(config.metadata)
    if is_remote(root):
        raise ConfigError(
            f"the pipeline root {root} is remote: give --metadata, a local path for the "
            "SQLite ML Metadata store that keeps the runs"
        )
    return os.path.join(root, METADATA_FILE)


def _refuse_what_oss_refuses(job: Mapping[str, Any]) -> None:
    refused = oss_refusals(job["pipelineSpec"])
    if refused:
        raise spec_tasks.SpecError(
            "open-source KFP refuses this spec: "
            + "; ".join(refused)
            + " (run it with --target vertex if it is meant for Vertex AI Pipelines)"
        )


class _Runner:
    """Runs the tasks of one job against one store."""

    def __init__(self, root_parameters: Mapping[str, Any], records: RunRecords, run: LocalRun):
        self.root_parameters, self.records, self.run = root_parameters, records, run
        self.produced: Dict[str, Dict[str, List[dict]]] = {}
        self.parameters: Dict[str, Dict[str, Any]] = {}

    def inputs(self, task: spec_tasks.Task) -> Dict[str, List[dict]]:
        return {
            name: list(self.produced.get(producer, {}).get(key, []))
            for name, (producer, key) in task.artifact_inputs().items()
        }

    def _stored(
        self,
        outcome: TaskOutcome,
        task: spec_tasks.Task,
        artifacts: Mapping[str, List[pb.Artifact]],
    ) -> None:
        """The task's outputs as the next task receives them (from the store)."""
        schemas = task.component.get("outputDefinitions", {}).get("artifacts") or {}
        outcome.outputs = {
            key: [self.records.runtime_artifact(a, schemas[key]["artifactType"]) for a in listed]
            for key, listed in artifacts.items()
        }

    def import_artifact(self, task: spec_tasks.Task, outcome: TaskOutcome) -> None:
        """An importer task: records its artifact (URI, type, metadata) as KFP's does."""
        importer = task.executor["importer"]
        uri = importer.get("artifactUri", {})
        if "constant" in uri:
            uri = uri["constant"]
        else:
            values = spec_tasks.parameter_values(task, self.root_parameters, self.parameters)
            uri = values[uri.get("runtimeParameter", "uri")]
        execution = self.records.start(task.name, IMPORTER_EXECUTION, {}, {})
        outcome.execution_id = execution.id
        (key,) = task.component.get("outputDefinitions", {}).get("artifacts") or {"artifact": 0}
        runtime = {
            "uri": uri,
            "type": importer["typeSchema"],
            "metadata": importer.get("metadata") or {},
        }
        existing = None
        if not importer.get("reimport"):
            existing = self.records.existing_artifact(uri, importer["typeSchema"])
        stored = {key: [existing or self.records.record_artifact(key, runtime)]}
        self.records.publish(execution, pb.Execution.COMPLETE, stored)
        self._stored(outcome, task, stored)

    def execute(self, task: spec_tasks.Task, outcome: TaskOutcome) -> None:
        container = task.executor["container"]
        values = spec_tasks.parameter_values(task, self.root_parameters, self.parameters)
        outcome.values = values
        inputs = self.inputs(task)
        execution = self.records.start(
            task.name, CONTAINER_EXECUTION, values, inputs, image=container.get("image", "")
        )
        outcome.execution_id = execution.id
        task_id = uuid.uuid4().hex
        task_root = "/".join([self.run.run_root, task.name, task_id])
        fileio.makedirs(task_root)
        scratch = os.path.join(self.run.logs, task.name, task_id)  # local, as in the pod
        outputs = spec_tasks.provision_outputs(task, task_root, scratch)
        for parameter in (outputs.get("parameters") or {}).values():
            os.makedirs(os.path.dirname(parameter["outputFile"]), exist_ok=True)
        executor_input = spec_tasks.executor_input(values, inputs, outputs)
        if task.cached and self._from_cache(task, outcome, execution, executor_input):
            return
        argv = spec_tasks.command_line(container, executor_input, sys.executable)
        os.makedirs(scratch, exist_ok=True)
        outcome.log = os.path.join(scratch, LOG_FILE)
        # The container's own variables over this process's, as the pod would have them (the
        # object store's keys, which a cluster takes from a secret, come from here).
        env = {**os.environ, **{e["name"]: e["value"] for e in container.get("env") or []}}
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        try:
            with open(outcome.log, "w") as log:
                code = subprocess.run(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=scratch
                ).returncode
        except BaseException:
            self.records.publish(execution, pb.Execution.FAILED)
            raise
        if code != 0:
            self.records.publish(execution, pb.Execution.FAILED)
            with open(outcome.log, errors="replace") as log:
                raise TaskFailed(self.run, task.name, last_error(log.read(), code), outcome.log)
        try:
            stored = self._collect(outcome, outputs)
        except (ValueError, TypeError, KeyError) as error:
            self.records.publish(execution, pb.Execution.FAILED)
            problem = f"its executor output is unusable: {type(error).__name__}: {error}"
            raise TaskFailed(self.run, task.name, problem, outcome.log) from None
        self.records.publish(execution, pb.Execution.COMPLETE, stored, outcome.parameters)
        self._stored(outcome, task, stored)
        self.parameters[task.name] = outcome.parameters

    def _from_cache(self, task, outcome, execution, executor_input) -> bool:
        """Answers the task from an earlier execution with its KFP cache key, if any; else
        records the key on this execution for later runs."""
        types = {
            name: spec.get("parameterType", "")
            for name, spec in (
                task.component.get("outputDefinitions", {}).get("parameters") or {}
            ).items()
        }
        key = cache_key.fingerprint(
            cache_key.cache_key(executor_input, task.executor["container"], types)
        )
        hit = self.records.cached_outputs(key)
        if hit is None:
            self.records.set_fingerprint(execution, key)
            return False
        earlier, stored, parameters = hit
        outcome.cached_from = earlier
        outcome.parameters = parameters
        self.records.publish(execution, pb.Execution.CACHED, stored, parameters)
        self._stored(outcome, task, stored)
        self.parameters[task.name] = parameters
        return True

    def _collect(self, outcome: TaskOutcome, outputs: Mapping[str, Any]):
        """Reads the executor output file back (none: the outputs as provisioned) and
        records every output artifact; the output parameters go on ``outcome``."""
        written = {}
        if os.path.isfile(outputs["outputFile"]):
            with open(outputs["outputFile"]) as f:
                written = json.load(f)
        stored = {}
        for key, listed in (outputs.get("artifacts") or {}).items():
            given = ((written.get("artifacts") or {}).get(key) or {}).get("artifacts") or [{}]
            merged = spec_tasks.merge_output(listed["artifacts"][0], given[0])
            stored[key] = [self.records.record_artifact(key, merged)]
        outcome.parameters = dict(written.get("parameterValues") or {})
        for key, parameter in (outputs.get("parameters") or {}).items():
            if key not in outcome.parameters and os.path.isfile(parameter["outputFile"]):
                with open(parameter["outputFile"]) as f:
                    outcome.parameters[key] = f.read()
        return stored

    def run_task(self, task: spec_tasks.Task) -> TaskOutcome:
        outcome = TaskOutcome(task.name, task.kind, 0.0)
        started = time.monotonic()
        (self.import_artifact if task.kind == "importer" else self.execute)(task, outcome)
        outcome.seconds = time.monotonic() - started
        self.produced[task.name] = outcome.outputs
        return outcome


def run_spec(
    config: LocalRunConfig, on_task: Optional[Callable[[TaskOutcome], None]] = None
) -> LocalRun:
    """Executes the compiled spec; returns the run, or raises TaskFailed at the first task
    that fails (ConfigError, before anything runs, for a spec it cannot execute)."""
    job = read_pipeline_job(config.spec)
    if config.target == "oss":
        _refuse_what_oss_refuses(job)
    tasks = spec_tasks.tasks_in_order(job)
    root_parameters = spec_tasks.root_parameters(job)
    for task in tasks:  # every parameter resolves, before anything runs
        spec_tasks.parameter_values(task, root_parameters)
    root = _pipeline_root(config, job)
    metadata_path = _metadata_path(config, root)
    pipeline_name = job["pipelineSpec"].get("pipelineInfo", {}).get("name") or "pipeline"
    run_id = uuid.uuid4().hex
    run = LocalRun(
        run_id=run_id,
        pipeline_root=root,
        run_root="/".join([root.rstrip("/"), pipeline_name, run_id]),
        metadata_path=metadata_path,
        logs=os.path.join(os.path.dirname(metadata_path), "logs", run_id),
    )
    with exclusive_run(os.path.dirname(metadata_path)):
        store = open_store(run.metadata_path, create=True)
        records = RunRecords(store, pipeline_name, run_id, run.run_root, root_parameters)
        runner = _Runner(root_parameters, records, run)
        for task in tasks:
            try:
                outcome = runner.run_task(task)
            except BaseException:
                records.finish(pb.Execution.FAILED)
                raise
            run.tasks.append(outcome)
            if on_task is not None:
                on_task(outcome)
        records.finish(pb.Execution.COMPLETE)
    return run
