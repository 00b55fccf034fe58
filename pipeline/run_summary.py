"""Reads a finished run's outcome back from ML Metadata: metrics, blessing, pushed model.

The summary is built from what the components recorded (MLMD and the artifacts' files), not
from anything the runner remembers, so it is the same whether a component ran or was cached.
The queries themselves are ``mlmd``'s.
"""

import dataclasses
from typing import Dict, Optional

from robustfx.pipeline.mlmd import (
    int_property,
    latest_evaluation,
    node_outputs,
    open_store,
    report_path,
)
from robustfx.pipeline.production import PUSHER_ID
from robustfx.robustness.verdict.figures import Estimate
from robustfx.robustness.verdict.outcome import EvaluationResult, Verdict


@dataclasses.dataclass
class RunSummary:
    """The printed and JSON result of ``robustfx run``: the candidate's verdict and what the
    Pusher did."""

    dataset: str
    verdict: Verdict
    pushed_model: Optional[str]
    report: Optional[str] = None  # the HTML robustness report
    push_skipped: str = ""  # why a blessed model was not pushed (already serving)
    bracket: str = ""  # certified <= true <= worst case (``EvaluationResult.bracket``)

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
            "certified_by_radius": dict(candidate.certified_by_radius),
            "bracket": self.bracket,
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
        if self.bracket:
            lines.append(f"bracket:          {self.bracket}")
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
    for pushed in node_outputs(store, pipeline_name, PUSHER_ID, "pushed_model"):
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
    evaluation = EvaluationResult.from_dict(result)
    return RunSummary(
        dataset, evaluation.verdict, pushed_model, report, push_skipped, evaluation.bracket()
    )
