"""The model card that travels with every pushed model: ``model_card.json`` and
``model_card.md``.

The JSON follows the Model Card Toolkit schema's field names (``model_details``,
``model_parameters``, ``quantitative_analysis``, ``considerations``); the toolkit itself does
not install beside TFMA 0.47, so the fields are written here. What it records: the dataset,
its version and split sizes; the training recipe and seed; the attack suite with every
parameter; clean, per-attack and worst-case accuracy with 95% intervals; the validity
checks; the baseline it was compared with and the paired tests; the graph check of each
model (with any op let through by ``--allow-op``); package versions; the pipeline run and ML
Metadata ids. Pure data in, data out.
"""

import datetime
import json
from importlib import metadata
from typing import Any, Dict, List, Mapping, Optional

from robustfx.robustness.verdict.figures import Estimate
from robustfx.robustness.verdict.outcome import CANDIDATE, EvaluationResult

CARD_JSON, CARD_MARKDOWN = "model_card.json", "model_card.md"
PACKAGES = (
    "robustfx",
    "tfx",
    "tensorflow",
    "tf-keras",
    "neural-structured-learning",
    "tensorflow-transform",
    "tensorflow-model-analysis",
    "apache-beam",
)


def package_versions() -> Dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _metric(name: str, estimate: Estimate, slice_: str = "") -> dict:
    low, high = estimate.bounds
    return {
        "type": name,
        "value": estimate.value,
        "slice": slice_,
        "confidence_interval": {"lower_bound": low, "upper_bound": high},
    }


def _performance(result: EvaluationResult) -> List[dict]:
    """Every headline figure of the candidate (each reported attack's and each corruption's
    accuracy included), then the worst case per class."""
    verdict = result.verdict
    metrics = [
        _metric(name, estimate) for name, estimate in verdict.candidate.entries(verdict.suite)
    ]
    details = result.details[CANDIDATE]
    for class_name, value in details["per_class_worst_case_accuracy"].items():
        interval = details["per_class_worst_case_accuracy_interval"][class_name]
        metrics.append(
            _metric(
                "worst_case_robust_accuracy",
                Estimate(value, tuple(interval)),
                f"class={class_name}",
            )
        )
    return metrics


def build_model_card(
    result: EvaluationResult,
    model_info: Mapping[str, Any],
    provenance: Mapping[str, Any],
    created: Optional[str] = None,
) -> dict:
    """The card of the judged model.

    Args:
      result: its evaluation.
      model_info: ``dataset`` (name, version, splits), ``model``, ``adversarial``,
        ``training`` (config dicts) and ``evaluation`` (the evaluation config dict).
      provenance: pipeline name and run id, ML Metadata artifact ids, package versions.
      created: ISO time; now when None.
    """
    verdict = result.verdict
    dataset = model_info.get("dataset", {})
    training = model_info.get("training", {})
    return {
        "model_details": {
            "name": provenance.get("pipeline_name", "robustfx model"),
            "overview": "CNN trained with neural-structured-learning adversarial "
            "regularization and judged on the worst case over an attack suite.",
            "version": {
                "name": provenance.get("version", ""),
                "date": created or datetime.datetime.now().isoformat(timespec="seconds"),
            },
            "references": [
                {"reference": "Croce and Hein 2020, AutoAttack"},
                {"reference": "Carlini et al. 2019, On Evaluating Adversarial Robustness"},
            ],
        },  # fmt: skip
        "model_parameters": {
            "model_architecture": model_info.get("model", {}),
            "data": {
                "train": {"name": f"{dataset.get('name')}:{dataset.get('version')} train"},
                "eval": {
                    "name": f"{dataset.get('name')}:{dataset.get('version')} "
                    f"{model_info.get('evaluation', {}).get('split', 'test')}"
                },
                "split_sizes": dataset.get("splits", {}),
            },  # fmt: skip
            "training_recipe": {
                "adversarial": model_info.get("adversarial", {}),
                "training": training,
                "seed": training.get("seed"),
            },
            "input_format": "float32 images in [0, 1] (serving_transformed) or serialized "
            "tf.Examples with encoded images (serving_default)",
            "output_format": "logits, probabilities and classes",
        },
        "quantitative_analysis": {
            "performance_metrics": _performance(result),
        },
        "robustness_evaluation": {
            "suite": verdict.suite_name,
            "attacks": list(verdict.suite),
            "config": model_info.get("evaluation", {}),
            "evaluation_valid": verdict.evaluation_valid,
            "validity_checks": [check.to_dict() for check in result.validity],
            "blessed": verdict.blessed,
            "rules": [rule.to_dict() for rule in verdict.rules],
            "baseline": provenance.get("baseline_model_id"),
            "paired_tests": dict(verdict.paired_tests),
            # The natural corruptions: the set, and against the baseline CE per corruption,
            # mCE and the paired tests.
            "corruption_set": verdict.corruption_set,
            "corruption_comparison": result.corruption_comparison,
            # What each model's graph check read; ops let through by --allow-op included.
            "graph_checks": result.graph_checks,
            # A gate that decided early: its rounds, where it stopped, each rule's record.
            **({"decided_early": result.decided_early} if result.decided_early else {}),
        },
        "provenance": dict(provenance),
        "considerations": {
            "limitations": [
                {
                    "description": "Robust accuracy is an upper bound: a stronger attack may "
                    "find more errors. It holds for the threat model evaluated only."
                },
            ],  # fmt: skip
        },
    }


def _graph_check(checks: Mapping[str, Any]) -> str:
    if not checks:
        return "not run"
    allowed = sorted({op for check in checks.values() for op in check["allowed_by_flag"]})
    return f"passed ({', '.join(checks)})" + (
        f"; ops let through by --allow-op: {', '.join(allowed)}" if allowed else ""
    )


def _mce(comparison: Mapping[str, Any]) -> str:
    mce = comparison.get("mce")
    return "" if mce is None else f"; mCE against the baseline {mce:.4f} (baseline = 1)"


def early_summary(early: Mapping[str, Any]) -> str:
    """One line: where a gate that decides early stopped, on how many examples, and why."""
    ends = "/".join(f"{end:,}" for end in early["round_ends"])
    return (
        f"decided after round {early['stopped_after_round']} of {early['rounds']} on "
        f"{early['examples']:,} of {early['num_examples']:,} examples (rounds end at {ends}, "
        f"order seed {early['seed']}): {early['stopped_because']}; validity checks on the "
        f"first {early['validity_examples']:,} examples of the order"
    )


def early_rows(early: Mapping[str, Any]) -> List[str]:
    """A Markdown table of each rule's record: examples, deciding round, figure, interval
    valid at the stopping round, threshold and bound."""
    rows = [
        "| rule | examples | decided at round | figure | interval at the stop | threshold | "
        "verdict | bound |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in early["rules"]:
        low, high = record["interval"]
        decided = record["decided_round"] or "not decided"
        rows.append(
            f"| {record['rule']} | {record['examples']:,} | {decided} | "
            f"{record['estimate']:.4f} | {low:.4f}-{high:.4f} | {record['threshold']:.4f} | "
            f"{record['verdict']} | {record['bound']} |"
        )
    return rows


def _early_lines(early: Mapping[str, Any]) -> List[str]:
    return [
        "## Decided early",
        "",
        f"The gate {early_summary(early)}. Each figure a rule judges carries the interval "
        "that holds at whatever round the gate stopped, wider than a fixed-sample interval "
        f"on as many examples; every figure rests on the {early['examples']:,} examples "
        "judged.",
        "",
        *early_rows(early),
    ]


def render_markdown(card: Mapping[str, Any]) -> str:
    """A human-readable page of the card."""
    details, parameters = card["model_details"], card["model_parameters"]
    robustness, provenance = card["robustness_evaluation"], card["provenance"]
    early = robustness.get("decided_early")
    lines = [
        f"# Model card: {details['name']} {details['version']['name']}".rstrip(),
        "",
        details["overview"],
        "",
        f"- created: {details['version']['date']}",
        f"- data: {parameters['data']['train']['name']}; judged on "
        f"{parameters['data']['eval']['name']}; split sizes "
        f"{json.dumps(parameters['data']['split_sizes'], sort_keys=True)}",
        f"- training recipe: {json.dumps(parameters['training_recipe'], sort_keys=True)}",
        f"- suite: {robustness['suite']} ({', '.join(robustness['attacks'])}); evaluation "
        f"valid: {robustness['evaluation_valid']}; blessed: {robustness['blessed']}",
        f"- natural corruptions: {robustness.get('corruption_set', 'none')} set"
        + _mce(robustness.get("corruption_comparison", {})),
        f"- baseline (ML Metadata artifact id): {robustness['baseline'] or 'none'}",
        f"- graph check: {_graph_check(robustness.get('graph_checks', {}))}",
        "",
        f"| metric | slice | value | {'interval' if early else '95% interval'} |",
        "|---|---|---|---|",
    ]
    for metric in card["quantitative_analysis"]["performance_metrics"]:
        interval = metric["confidence_interval"]
        lines.append(
            f"| {metric['type']} | {metric['slice'] or 'all'} | {metric['value']:.4f} | "
            f"{interval['lower_bound']:.4f}-{interval['upper_bound']:.4f} |"
        )
    if early:
        lines += ["", *_early_lines(early)]
    lines += ["", "## Rules", ""]
    lines += [f"- {'pass' if r['passed'] else 'FAIL'}: {r['message']}" for r in robustness["rules"]]
    lines += ["", "## Paired tests against the baseline", ""]
    for kind, test in robustness["paired_tests"].items():
        low, high = test["change_interval"]
        lines.append(
            f"- {kind}: change {test['change']:+.4f} (95% interval {low:+.4f} to {high:+.4f}), "
            f"exact McNemar p={test['p_value']:.3g}"
        )
    if not robustness["paired_tests"]:
        lines.append("- none: no baseline in production")
    lines += ["", "## Provenance", ""]
    lines += [f"- {key}: {value}" for key, value in sorted(provenance.items())]
    return "\n".join(lines) + "\n"
