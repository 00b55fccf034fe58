"""`robustfx kfp run-local`: executes a compiled KFP spec here as KFP's v2 driver and launcher
would, so that the spec about to be uploaded is run, not only read.

Tasks run one at a time in dependency order. A container task gets the ExecutorInput that
KFP's driver builds (parameter values, upstream artifacts as ML Metadata holds them, output
URIs under ``<root>/<pipeline>/<run id>/<task>/<uuid>/``); its command and args run exactly as
compiled, in a subprocess of this interpreter (the image's environment: the project
installed), with stdout and stderr in ``executor.log`` beside its outputs; the executor
output file is read back and every output recorded in ML Metadata (``local_metadata``). A
resolver task evaluates its compiled artifact queries (``artifact_filter``) against the
pipeline's artifacts in that store: the newest match, or nothing (no baseline). The first
failing task stops the run; later tasks do not run.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional

from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.base.run_config import METADATA_FILE
from robustfx.base.validation import ConfigError, is_remote
from robustfx.kubeflow import artifact_filter, spec_tasks
from robustfx.kubeflow.local_metadata import CONTAINER_EXECUTION, RESOLVER_EXECUTION, RunRecords
from robustfx.kubeflow.run_local_config import LocalRunConfig
from robustfx.kubeflow.schedule import read_pipeline_job
from robustfx.pipeline.mlmd import open_store
from robustfx.pipeline.run_lock import exclusive_run

LOG_FILE = "executor.log"
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")


@dataclasses.dataclass
class TaskOutcome:
    """One task as it ended: what it produced (runtime artifacts by output name)."""

    name: str
    kind: str
    seconds: float
    outputs: Dict[str, List[dict]] = dataclasses.field(default_factory=dict)
    values: Dict[str, Any] = dataclasses.field(default_factory=dict)  # its input parameters
    parameters: Dict[str, Any] = dataclasses.field(default_factory=dict)  # its outputs
    log: str = ""
    execution_id: int = 0

    def describe(self) -> str:
        if self.kind == "container":
            return f"ran in {self.seconds:.1f} s (log: {self.log})"
        found = [
            f"{key}: artifact {artifact['name']} ({artifact['uri']})"
            for key, artifacts in self.outputs.items()
            for artifact in artifacts
        ]
        return "resolved " + ("; ".join(found) if found else "nothing (no baseline)")


@dataclasses.dataclass
class LocalRun:
    """A finished (or failed) local run: where it lies, and each task that ran."""

    run_id: str
    pipeline_root: str
    run_root: str
    metadata_path: str
    tasks: List[TaskOutcome] = dataclasses.field(default_factory=list)

    def task(self, name: str) -> Optional[TaskOutcome]:
        return next((task for task in self.tasks if task.name == name), None)


class TaskFailed(RuntimeError):
    """A task failed: the run stopped there."""

    def __init__(self, run: LocalRun, task: str, error: str, log: str = ""):
        self.run, self.task, self.error, self.log = run, task, error, log
        where = f" (log: {log})" if log else ""
        super().__init__(f"task {task} failed: {error}{where}")


def last_error(log_text: str, returncode: int) -> str:
    """The error a failed process ended with: the last exception line of its log."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    if errors:
        return errors[-1]
    return lines[-1] if lines else f"exit code {returncode}, nothing logged"


def _pipeline_root(config: LocalRunConfig, job: Mapping[str, Any]) -> str:
    root = config.pipeline_root or job.get("runtimeConfig", {}).get("gcsOutputDirectory", "")
    if not root or is_remote(root):
        raise ConfigError(
            f"the spec's pipeline root {root!r} is not a local directory: give --pipeline-root"
        )
    return os.path.abspath(root)


def _preflight(tasks: List[spec_tasks.Task], root_parameters: Mapping[str, Any]) -> None:
    """Everything that can be refused before a task runs: parameters and filters."""
    for task in tasks:
        spec_tasks.parameter_values(task, root_parameters)
        queries = task.executor.get("resolver", {}).get("outputArtifactQueries", {})
        for key, query in queries.items():
            try:
                artifact_filter.parse_filter(query.get("filter", ""))
            except artifact_filter.FilterError as error:
                raise spec_tasks.SpecError(f"task {task.name} query {key!r}: {error}") from None


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
            key: [
                self.records.runtime_artifact(a, schemas[key]["artifactType"]["instanceSchema"])
                for a in listed
            ]
            for key, listed in artifacts.items()
        }

    def resolve(self, task: spec_tasks.Task, outcome: TaskOutcome) -> None:
        inputs = self.inputs(task)
        execution = self.records.start(task.name, RESOLVER_EXECUTION, {}, inputs)
        outcome.execution_id = execution.id
        resolved: Dict[str, List[pb.Artifact]] = {}
        for key, query in task.executor["resolver"]["outputArtifactQueries"].items():
            clauses = artifact_filter.parse_filter(query["filter"])
            try:
                filled = artifact_filter.fill_placeholders(clauses, inputs)
            except artifact_filter.FilterError as error:
                self.records.publish(execution, pb.Execution.FAILED)
                raise TaskFailed(self.run, task.name, f"query {key!r}: {error}") from None
            record = None
            if filled is not None:
                candidates = self.records.pipeline_artifacts(
                    artifact_filter.schema_title_of(filled)
                )
                record = artifact_filter.newest_matching(filled, candidates)
            resolved[key] = self.records.store.get_artifacts_by_id([record.id]) if record else []
        self.records.publish(execution, pb.Execution.COMPLETE, resolved)
        self._stored(outcome, task, resolved)

    def execute(self, task: spec_tasks.Task, outcome: TaskOutcome) -> None:
        container = task.executor["container"]
        values = spec_tasks.parameter_values(task, self.root_parameters, self.parameters)
        outcome.values = values
        inputs = self.inputs(task)
        execution = self.records.start(
            task.name, CONTAINER_EXECUTION, values, inputs, image=container.get("image", "")
        )
        outcome.execution_id = execution.id
        task_root = os.path.join(self.run.run_root, task.name, uuid.uuid4().hex)
        os.makedirs(task_root)
        outputs = spec_tasks.provision_outputs(task, task_root)
        for parameter in (outputs.get("parameters") or {}).values():
            os.makedirs(os.path.dirname(parameter["outputFile"]), exist_ok=True)
        executor_input = spec_tasks.executor_input(values, inputs, outputs)
        argv = spec_tasks.command_line(container, executor_input, sys.executable)
        outcome.log = os.path.join(task_root, LOG_FILE)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        try:
            with open(outcome.log, "w") as log:
                code = subprocess.run(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=task_root
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
        (self.resolve if task.kind == "resolver" else self.execute)(task, outcome)
        outcome.seconds = time.monotonic() - started
        self.produced[task.name] = outcome.outputs
        return outcome


def run_spec(
    config: LocalRunConfig, on_task: Optional[Callable[[TaskOutcome], None]] = None
) -> LocalRun:
    """Executes the compiled spec; returns the run, or raises TaskFailed at the first task
    that fails (ConfigError, before anything runs, for a spec it cannot execute)."""
    job = read_pipeline_job(config.spec)
    tasks = spec_tasks.tasks_in_order(job)
    root_parameters = spec_tasks.root_parameters(job)
    _preflight(tasks, root_parameters)
    root = _pipeline_root(config, job)
    pipeline_name = job["pipelineSpec"].get("pipelineInfo", {}).get("name") or "pipeline"
    run_id = uuid.uuid4().hex
    run = LocalRun(
        run_id=run_id,
        pipeline_root=root,
        run_root=os.path.join(root, pipeline_name, run_id),
        metadata_path=os.path.join(root, METADATA_FILE),
    )
    with exclusive_run(root):
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
