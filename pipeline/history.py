"""The pipeline's history from ML Metadata: one row per run that judged a model, newest
first: when, which model, clean and worst-case accuracy with 95% intervals, the verdict with
its first reason, and the version pushed (if any)."""

import dataclasses
import datetime
import json
import os
from typing import List, Optional

from ml_metadata.metadata_store import metadata_store
from tfx.utils import io_utils

from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.pipeline.production import evaluator_id
from robustfx.pipeline.run_summary import int_property, output_artifacts
from robustfx.robustness.verdict.figures import Estimate
from robustfx.robustness.verdict.outcome import EvaluationResult

_PUSHER = "Pusher"


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    run: str  # the pipeline run id
    pipeline: str
    time: str  # ISO, UTC
    model_id: Optional[int]  # the candidate's ML Metadata artifact id
    clean_accuracy: float
    clean_interval: List[float]
    worst_case_robust_accuracy: float
    worst_case_interval: List[float]
    corruption_mean: Optional[float]  # None when no corruption was judged
    corruption_mean_interval: List[float]
    blessed: bool
    reason: str  # the first failed rule; '' when blessed
    pushed_version: Optional[str]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _executions_by_node(store) -> dict:
    """Node ID -> ids of every execution of that node, read once for all runs."""
    by_node = {}
    for context in store.get_contexts_by_type("node"):
        ids = {e.id for e in store.get_executions_by_context(context.id)}
        by_node.setdefault(context.name.rsplit(".", 1)[-1], set()).update(ids)
    return by_node


def _row(store, run, pipeline: str, by_node: dict) -> Optional[HistoryRow]:
    in_run = {e.id for e in store.get_executions_by_context(run.id)}
    executions = {node: sorted(ids & in_run) for node, ids in by_node.items() if ids & in_run}
    evaluations = output_artifacts(
        store, executions.get(evaluator_id(), []), evaluator_spec.EVALUATION_KEY
    )
    if not evaluations:
        return None
    path = os.path.join(evaluations[-1].uri, evaluator_spec.METRICS_FILE)
    verdict = EvaluationResult.from_dict(json.loads(io_utils.read_string_file(path))).verdict
    candidate = verdict.candidate
    blessings = output_artifacts(
        store, executions.get(evaluator_id(), []), evaluator_spec.BLESSING_KEY
    )
    pushed_version = None
    for pushed in output_artifacts(store, executions.get(_PUSHER, []), "pushed_model"):
        if int_property(pushed, "pushed") == 1:
            pushed_version = pushed.custom_properties["pushed_version"].string_value
    when = datetime.datetime.fromtimestamp(
        run.create_time_since_epoch / 1000, datetime.timezone.utc
    )
    return HistoryRow(
        run=run.name,
        pipeline=pipeline,
        time=when.isoformat(timespec="seconds"),
        model_id=int_property(blessings[-1], "current_model_id") if blessings else None,
        clean_accuracy=candidate.clean_accuracy.value,
        clean_interval=_interval(candidate.clean_accuracy),
        worst_case_robust_accuracy=candidate.worst_case_robust_accuracy.value,
        worst_case_interval=_interval(candidate.worst_case_robust_accuracy),
        corruption_mean=candidate.corruption_mean.value if candidate.corruption_mean else None,
        corruption_mean_interval=_interval(candidate.corruption_mean),
        blessed=verdict.blessed,
        reason=(verdict.reasons or ("",))[0],
        pushed_version=pushed_version,
    )


def _interval(estimate: Optional[Estimate]) -> List[float]:
    return list(estimate.interval) if estimate and estimate.interval else []


def run_history(store: metadata_store.MetadataStore) -> List[HistoryRow]:
    """Every run that judged a model, newest first."""
    rows, by_node = [], _executions_by_node(store)
    pipelines = {c.id: c.name for c in store.get_contexts_by_type("pipeline")}
    runs = sorted(
        store.get_contexts_by_type("pipeline_run"),
        key=lambda run: (run.create_time_since_epoch, run.id),
        reverse=True,
    )
    for run in runs:
        parents = store.get_parent_contexts_by_context(run.id)
        pipeline = next((pipelines[p.id] for p in parents if p.id in pipelines), "")
        row = _row(store, run, pipeline, by_node)
        if row is not None:
            rows.append(row)
    return rows


def render_history(rows: List[HistoryRow]) -> str:
    """A plain table, one line per run."""
    if not rows:
        return "no runs have judged a model yet"

    def shown(value: Optional[float], interval: List[float]) -> str:
        if value is None:
            return "-"
        return f"{value:.4f} [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else f"{value:.4f}"

    lines = ["time (UTC)                 model  clean                     worst case      "
             "          corruptions (mean)        verdict  pushed      first reason"]  # fmt: skip
    for row in rows:
        verdict = "blessed" if row.blessed else "REFUSED"
        lines.append(
            f"{row.time:<26} {row.model_id or '-':<6} "
            f"{shown(row.clean_accuracy, row.clean_interval):<25} "
            f"{shown(row.worst_case_robust_accuracy, row.worst_case_interval):<25} "
            f"{shown(row.corruption_mean, row.corruption_mean_interval):<25} "
            f"{verdict:<8} {row.pushed_version or '-':<11} {row.reason}"
        )
    return "\n".join(lines)
