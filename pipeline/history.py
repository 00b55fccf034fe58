"""The pipeline's history from ML Metadata: one row per run that judged a model, newest
first: when, which model, clean and worst-case accuracy with 95% intervals, the verdict with
its first reason, and the version pushed (if any)."""

import dataclasses
import datetime
from typing import List, Optional

from ml_metadata.metadata_store import metadata_store

from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.pipeline.mlmd import (
    evaluation_metrics,
    executions_by_node,
    int_property,
    output_artifacts,
    pipeline_runs,
)
from robustfx.pipeline.production import PUSHER_ID, evaluator_id
from robustfx.robustness.verdict.figures import Estimate, value_of
from robustfx.robustness.verdict.outcome import EvaluationResult


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
    certified_accuracy: Optional[float]  # None when no certificate was computed
    certified_interval: List[float]
    blessed: bool
    reason: str  # the first failed rule; '' when blessed
    pushed_version: Optional[str]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _row(store, run, pipeline: str, by_node: dict) -> Optional[HistoryRow]:
    in_run = {e.id for e in store.get_executions_by_context(run.id)}
    executions = {node: sorted(ids & in_run) for node, ids in by_node.items() if ids & in_run}
    evaluations = output_artifacts(
        store, executions.get(evaluator_id(), []), evaluator_spec.EVALUATION_KEY
    )
    if not evaluations:
        return None
    verdict = EvaluationResult.from_dict(evaluation_metrics(evaluations[-1])).verdict
    candidate = verdict.candidate
    blessings = output_artifacts(
        store, executions.get(evaluator_id(), []), evaluator_spec.BLESSING_KEY
    )
    pushed_version = None
    for pushed in output_artifacts(store, executions.get(PUSHER_ID, []), "pushed_model"):
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
        certified_accuracy=value_of(candidate.certified_accuracy),
        certified_interval=_interval(candidate.certified_accuracy),
        blessed=verdict.blessed,
        reason=(verdict.reasons or ("",))[0],
        pushed_version=pushed_version,
    )


def _interval(estimate: Optional[Estimate]) -> List[float]:
    return list(estimate.interval) if estimate and estimate.interval else []


def run_history(store: metadata_store.MetadataStore) -> List[HistoryRow]:
    """Every run that judged a model, newest first."""
    rows, by_node = [], executions_by_node(store)
    for run, pipeline in pipeline_runs(store):
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
             "          certified                 corruptions (mean)        verdict  pushed"
             "      first reason"]  # fmt: skip
    for row in rows:
        verdict = "blessed" if row.blessed else "REFUSED"
        lines.append(
            f"{row.time:<26} {row.model_id or '-':<6} "
            f"{shown(row.clean_accuracy, row.clean_interval):<25} "
            f"{shown(row.worst_case_robust_accuracy, row.worst_case_interval):<25} "
            f"{shown(row.certified_accuracy, row.certified_interval):<25} "
            f"{shown(row.corruption_mean, row.corruption_mean_interval):<25} "
            f"{verdict:<8} {row.pushed_version or '-':<11} {row.reason}"
        )
    return "\n".join(lines)
