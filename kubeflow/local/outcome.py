"""What a `robustfx kfp run-local` run leaves: each task's outcome, the run, and the error a
failed task ended with."""

import dataclasses
import re
from typing import Any, Dict, List, Optional

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

    cached_from: int = 0  # the execution whose outputs a cache hit reused

    def describe(self) -> str:
        if self.cached_from:
            return f"cached (outputs of execution {self.cached_from})"
        if self.kind == "container":
            return f"ran in {self.seconds:.1f} s (log: {self.log})"
        found = [f"{key}: {a['uri']}" for key, listed in self.outputs.items() for a in listed]
        return "imported " + "; ".join(found)


@dataclasses.dataclass
class LocalRun:
    """A finished (or failed) local run: where it lies, and each task that ran."""

    run_id: str
    pipeline_root: str
    run_root: str
    metadata_path: str
    logs: str  # local: the tasks' executor logs and output files
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
