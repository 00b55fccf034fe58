"""Reads a finished run's outcome back from ML Metadata: metrics, blessing, pushed model.

The summary is built from what the components recorded (MLMD and the artifacts' files), not
from anything the runner remembers, so it is the same whether a component ran or was cached.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata as tfx_metadata
from tfx.utils import io_utils

from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.robustness.verdict.figures import Estimate
from robustfx.robustness.verdict.outcome import EvaluationResult, Verdict

_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


@dataclasses.dataclass
class RunSummary:
    """The printed and JSON result of ``robustfx run``: the candidate's verdict and what the
    Pusher did."""

    dataset: str
    verdict: Verdict
    pushed_model: Optional[str]
    report: Optional[str] = None  # the HTML robustness report
    push_skipped: str = ""  # why a blessed model was not pushed (already serving)

    def to_dict(self) -> dict:
        """The ``--summary-json``: each headline figure of the candidate (None when not
        measured) with its 95% interval under ``intervals``, the reported attacks' robust
        accuracies, the corruptions by severity, the verdict and the push."""
        verdict, candidate = self.verdict, self.verdict.candidate
        intervals: Dict[str, object] = {
            name: list(estimate.bounds) for name, estimate in candidate.estimates().items()
        }
        intervals["robust_accuracy"] = {
            name: list(estimate.bounds)
            for name, estimate in candidate.robust(verdict.suite).items()
        }
        return {
            "dataset": self.dataset,
            **{name: e.value if e else None for name, e in candidate.headline().items()},
            "robust_accuracy": verdict.robust(),
            "evaluation_valid": verdict.evaluation_valid,
            "suite": verdict.suite_name,
            "corruption_set": verdict.corruption_set,
            "corruption_accuracy": dict(candidate.corruption_accuracy),
            "corruption_worst_name": candidate.corruption_worst_name,
            "blessed": verdict.blessed,
            "reasons": list(verdict.reasons),
            "pushed_model": self.pushed_model,
            "report": self.report,
            "intervals": intervals,
            "paired_tests": dict(verdict.paired_tests),
            "advice": list(verdict.advice),
            "push_skipped": self.push_skipped,
        }

    def render(self) -> str:
        verdict, candidate = self.verdict, self.verdict.candidate
        clean, worst = candidate.clean_accuracy, candidate.worst_case_robust_accuracy
        lines = [
            f"dataset:          {self.dataset}",
            f"clean accuracy:   {clean.value:.4f}{_shown(clean)}",
        ]
        for name, estimate in candidate.robust(verdict.suite).items():
            lines.append(f"robust accuracy:  {estimate.value:.4f}{_shown(estimate)}  ({name})")
        lines.append(
            f"worst case:       {worst.value:.4f}{_shown(worst)}  (every attack of the "
            f"{verdict.suite_name} suite; white-box and black-box)"
        )
        mean, worst_corruption = candidate.corruption_mean, candidate.corruption_worst
        if mean is not None:
            by_severity = candidate.corruption_accuracy
            runs = sum(len(severities) for severities in by_severity.values())
            lines.append(
                f"corruptions:      mean {mean.value:.4f}{_shown(mean)}  ({len(by_severity)}"
                f" corruptions of the {verdict.corruption_set} set, {runs} severities in all)"
            )
            lines.append(
                f"                  worst {worst_corruption.value:.4f}{_shown(worst_corruption)}"
                f"  ({candidate.corruption_worst_name})"
            )
        for _, label, estimate in candidate.others():
            lines.append(f"{label + ':':<17} {estimate.value:.4f}{_shown(estimate)}")
        for kind, test in verdict.paired_tests.items():
            low, high = test["change_interval"]
            lines.append(
                f"vs production:    {kind} {test['change']:+.4f} [{low:+.4f}, {high:+.4f}], "
                f"McNemar p={test['p_value']:.3g}"
            )
        lines += [f"note:             {line}" for line in verdict.advice]
        valid = "yes" if verdict.evaluation_valid else "NO (see the reasons)"
        lines.append(f"evaluation valid: {valid}")
        lines.append("blessed:          " + ("yes" if verdict.blessed else "NO"))
        lines += [f"  - {reason}" for reason in verdict.reasons]
        nothing = (
            f"none ({self.push_skipped})" if self.push_skipped else "none (nothing was pushed)"
        )
        lines.append(f"pushed model:     {self.pushed_model or nothing}")
        if self.report:
            lines.append(f"report:           {self.report}")
        return "\n".join(lines)


def _shown(estimate: Estimate) -> str:
    return "  [{:.4f}, {:.4f}]".format(*estimate.interval) if estimate.interval else ""


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    if not os.path.isfile(metadata_path):
        raise FileNotFoundError(f"no ML Metadata store at {metadata_path}")
    return metadata_store.MetadataStore(
        tfx_metadata.sqlite_metadata_connection_config(metadata_path)
    )


def node_outputs(
    store: metadata_store.MetadataStore, pipeline_name: str, node_id: str, output_key: str
) -> List[metadata_store_pb2.Artifact]:
    """Output artifacts of ``node_id`` in the pipeline's latest run, oldest first."""
    runs = store.get_contexts_by_type("pipeline_run")
    node = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    if not runs or node is None:
        return []
    latest = max(runs, key=lambda context: (context.create_time_since_epoch, context.id))
    in_run = {execution.id for execution in store.get_executions_by_context(latest.id)}
    of_node = {execution.id for execution in store.get_executions_by_context(node.id)}
    return output_artifacts(store, sorted(in_run & of_node), output_key)


def output_artifacts(
    store: metadata_store.MetadataStore, execution_ids: List[int], output_key: str
) -> List[metadata_store_pb2.Artifact]:
    artifact_ids = {
        event.artifact_id
        for event in store.get_events_by_execution_ids(sorted(execution_ids))
        if event.type in _OUTPUT_EVENTS
        and event.path.steps
        and event.path.steps[0].key == output_key
    }
    return store.get_artifacts_by_id(sorted(artifact_ids)) if artifact_ids else []


def all_node_outputs(
    store: metadata_store.MetadataStore, node_id: str, output_key: str
) -> List[metadata_store_pb2.Artifact]:
    """Output artifacts of ``node_id`` across every run and pipeline in the store."""
    execution_ids = [
        execution.id
        for context in store.get_contexts_by_type("node")
        if context.name.rsplit(".", 1)[-1] == node_id
        for execution in store.get_executions_by_context(context.id)
    ]
    return output_artifacts(store, execution_ids, output_key) if execution_ids else []


def int_property(artifact: metadata_store_pb2.Artifact, key: str) -> Optional[int]:
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return value.int_value if value.HasField("int_value") else None


def latest_evaluation(
    store: metadata_store.MetadataStore, pipeline_name: str, evaluator_id: str
) -> Optional[Tuple[metadata_store_pb2.Artifact, dict]]:
    """(evaluation artifact, its metrics.json) of ``evaluator_id`` in the latest run."""
    evaluations = node_outputs(store, pipeline_name, evaluator_id, evaluator_spec.EVALUATION_KEY)
    if not evaluations:
        return None
    path = os.path.join(evaluations[-1].uri, evaluator_spec.METRICS_FILE)
    return evaluations[-1], json.loads(io_utils.read_string_file(path))


def report_path(evaluation: metadata_store_pb2.Artifact) -> Optional[str]:
    """The HTML report the RobustnessEvaluator recorded on its evaluation artifact."""
    return evaluation.custom_properties["report"].string_value or None


def summarize_run(
    metadata_path: str, pipeline_name: str, dataset: str, evaluator_id: str
) -> RunSummary:
    """Reads the latest run's RobustnessEvaluator and Pusher outputs."""
    store = open_store(metadata_path)
    found = latest_evaluation(store, pipeline_name, evaluator_id)
    if found is None:
        raise RuntimeError(
            f"the latest run of {pipeline_name} recorded no robustness evaluation: "
            "it failed before the RobustnessEvaluator; see the log above"
        )
    evaluation, result = found
    pushed_model, push_skipped = None, ""
    for pushed in node_outputs(store, pipeline_name, "Pusher", "pushed_model"):
        if int_property(pushed, "pushed") == 1:
            pushed_model = pushed.custom_properties["pushed_destination"].string_value
        elif "push_skipped" in pushed.custom_properties:
            push_skipped = pushed.custom_properties["push_skipped"].string_value
    return summary_from_result(dataset, result, report_path(evaluation), pushed_model, push_skipped)


def summary_from_result(
    dataset: str,
    result: dict,
    report: Optional[str],
    pushed_model: Optional[str],
    push_skipped: str = "",
) -> RunSummary:
    """The summary of an evaluation's ``metrics.json`` and what the Pusher did, however the
    run was orchestrated (locally, or a compiled KFP spec run by ``kfp run-local``)."""
    verdict = EvaluationResult.from_dict(result).verdict
    return RunSummary(dataset, verdict, pushed_model, report, push_skipped)
