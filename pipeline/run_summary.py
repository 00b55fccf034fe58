"""Reads a finished run's outcome back from ML Metadata: metrics, blessing, pushed model.

The summary is built from what the components recorded (MLMD and the artifacts' files), not
from anything the runner remembers, so it is the same whether a component ran or was cached.
The queries themselves are ``mlmd``'s.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence

from robustfx.pipeline.mlmd import (
    int_property,
    latest_evaluation,
    node_outputs,
    open_store,
    report_path,
)
from robustfx.pipeline.production import PUSHER_ID
from robustfx.robustness.verdict.metrics import robust_accuracies


@dataclasses.dataclass
class RunSummary:
    """The printed and JSON result of ``robustfx run``."""

    dataset: str
    clean_accuracy: Optional[float]
    robust_accuracy: Dict[str, float]
    blessed: bool
    reasons: List[str]
    pushed_model: Optional[str]
    report: Optional[str] = None  # the HTML robustness report
    worst_case_robust_accuracy: Optional[float] = None  # over every attack of the suite
    evaluation_valid: Optional[bool] = None  # the validity checks all passed
    suite: str = ""
    # 95% intervals: 'clean_accuracy', 'worst_case_robust_accuracy', 'robust_accuracy' (by
    # attack); the paired tests against the baseline; the sample-size advice.
    intervals: Dict[str, object] = dataclasses.field(default_factory=dict)
    paired_tests: Dict[str, dict] = dataclasses.field(default_factory=dict)
    advice: List[str] = dataclasses.field(default_factory=list)
    push_skipped: str = ""  # why a blessed model was not pushed (already serving)
    # Natural corruptions: the set, accuracy by corruption and severity, the mean over
    # corruptions and the worst corruption (intervals under 'intervals').
    corruption_set: str = "none"
    corruption_accuracy: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)
    corruption_mean: Optional[float] = None
    corruption_worst: Optional[float] = None
    corruption_worst_name: Optional[str] = None

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "worst_case_robust_accuracy": self.worst_case_robust_accuracy,
            "evaluation_valid": self.evaluation_valid,
            "suite": self.suite,
            "corruption_set": self.corruption_set,
            "corruption_accuracy": self.corruption_accuracy,
            "corruption_mean": self.corruption_mean,
            "corruption_worst": self.corruption_worst,
            "corruption_worst_name": self.corruption_worst_name,
            "blessed": self.blessed,
            "reasons": self.reasons,
            "pushed_model": self.pushed_model,
            "report": self.report,
            "intervals": self.intervals,
            "paired_tests": self.paired_tests,
            "advice": self.advice,
            "push_skipped": self.push_skipped,
        }

    def render(self) -> str:
        lines = [f"dataset:          {self.dataset}"]
        if self.clean_accuracy is not None:
            lines.append(
                f"clean accuracy:   {self.clean_accuracy:.4f}"
                f"{_shown(self.intervals.get('clean_accuracy'))}"
            )
        attack_intervals = self.intervals.get("robust_accuracy", {})
        for name, value in self.robust_accuracy.items():
            lines.append(
                f"robust accuracy:  {value:.4f}{_shown(attack_intervals.get(name))}  ({name})"
            )
        if self.worst_case_robust_accuracy is not None:
            lines.append(
                f"worst case:       {self.worst_case_robust_accuracy:.4f}"
                f"{_shown(self.intervals.get('worst_case_robust_accuracy'))}  (every attack "
                f"of the {self.suite} suite; white-box and black-box)"
            )
        if self.corruption_mean is not None:
            runs = sum(len(by_severity) for by_severity in self.corruption_accuracy.values())
            lines.append(
                f"corruptions:      mean {self.corruption_mean:.4f}"
                f"{_shown(self.intervals.get('corruption_mean'))}  ({len(self.corruption_accuracy)}"
                f" corruptions of the {self.corruption_set} set, {runs} severities in all)"
            )
            lines.append(
                f"                  worst {self.corruption_worst:.4f}"
                f"{_shown(self.intervals.get('corruption_worst'))}  ({self.corruption_worst_name})"
            )
        for kind, test in self.paired_tests.items():
            low, high = test["change_interval"]
            lines.append(
                f"vs production:    {kind} {test['change']:+.4f} [{low:+.4f}, {high:+.4f}], "
                f"McNemar p={test['p_value']:.3g}"
            )
        lines += [f"note:             {line}" for line in self.advice]
        if self.evaluation_valid is not None:
            valid = "yes" if self.evaluation_valid else "NO (see the reasons)"
            lines.append(f"evaluation valid: {valid}")
        lines.append("blessed:          " + ("yes" if self.blessed else "NO"))
        for reason in self.reasons:
            lines.append(f"  - {reason}")
        nothing = (
            f"none ({self.push_skipped})" if self.push_skipped else "none (nothing was pushed)"
        )
        lines.append(f"pushed model:     {self.pushed_model or nothing}")
        if self.report:
            lines.append(f"report:           {self.report}")
        return "\n".join(lines)


def _shown(interval: Optional[Sequence[float]]) -> str:
    return f"  [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""


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
    candidate = result["metrics"]["candidate"]
    return RunSummary(
        dataset=dataset,
        clean_accuracy=candidate["clean_accuracy"],
        robust_accuracy=robust_accuracies(candidate, result["suite"]),
        worst_case_robust_accuracy=candidate["worst_case_robust_accuracy"],
        evaluation_valid=result["evaluation_valid"],
        suite=result["suite_name"],
        blessed=bool(result["blessed"]),
        reasons=list(result["reasons"]),
        pushed_model=pushed_model,
        report=report,
        intervals={
            "clean_accuracy": candidate["clean_accuracy_interval"],
            "worst_case_robust_accuracy": candidate["worst_case_robust_accuracy_interval"],
            "robust_accuracy": robust_accuracies(
                candidate, result["suite"], key="robust_accuracy_interval"
            ),
            **{
                key: candidate[f"{key}_interval"]
                for key in ("corruption_mean", "corruption_worst")
                if key in candidate
            },
        },
        paired_tests=result.get("paired_tests", {}),
        advice=result.get("advice", []),
        push_skipped=push_skipped,
        **_corruptions(result, candidate),
    )


def _corruptions(result: dict, candidate: dict) -> dict:
    """The summary's corruption fields, and their intervals, from ``metrics.json``."""
    if "corruption_mean" not in candidate:
        return {"corruption_set": result.get("corruption_set", "none")}
    return {
        "corruption_set": result["corruption_set"],
        "corruption_accuracy": candidate["corruption_accuracy"],
        "corruption_mean": candidate["corruption_mean"],
        "corruption_worst": candidate["corruption_worst"],
        "corruption_worst_name": candidate["corruption_worst_name"],
    }
