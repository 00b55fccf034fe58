"""The robustness report's tables as HTML: the rules, candidate against baseline, the 95%
intervals, the paired tests, the natural corruptions and the per-class accuracies.

Inputs are an ``EvaluationResult`` (its typed verdict and the per-model detail); nothing here
runs a model or writes a file.
"""

import html
import math
from typing import List, Mapping, Sequence

from robustfx.robustness.verdict.figures import value_of
from robustfx.robustness.verdict.metrics import attack_metrics
from robustfx.robustness.verdict.outcome import BASELINE, CANDIDATE, EvaluationResult


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


def table(header: Sequence[str], rows: Sequence[Sequence], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell if isinstance(cell, str) else fmt(cell)}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CASCADE_ROWS = (
    ("robust accuracy after it and every earlier attack of the cascade", "robust_accuracy"),
    ("share of examples it broke first", "share"),
    ("max perturbation norm", "max_perturbation_norm"),
)
_ATTACK_ROWS = (
    ("robust accuracy", "robust_accuracy"),
    ("attack success rate", "attack_success_rate"),
    ("random-noise accuracy", "noise_accuracy"),
    ("mean perturbation norm", "mean_perturbation_norm"),
    ("max perturbation norm", "max_perturbation_norm"),
    ("gradient masking suspected", "gradient_masking_suspected"),
)


def metrics_rows(result: EvaluationResult) -> List[list]:
    """Rows of (metric, candidate, baseline, change) for the metrics table."""
    verdict = result.verdict
    candidate, baseline = verdict.candidate, verdict.baseline

    def row(label: str, value, base) -> list:
        change = None
        if isinstance(value, float) and isinstance(base, float) and not isinstance(value, bool):
            change = f"{value - base:+.4f}"
        return [label, value, base, change]

    rows = [
        row(
            "clean accuracy",
            candidate.clean_accuracy.value,
            value_of(baseline and baseline.clean_accuracy),
        )
    ]
    if candidate.transfer_accuracy is not None:
        rows.append(
            row(
                "transfer accuracy (write-ups' protocol: crafted against the reference)",
                candidate.transfer_accuracy,
                baseline.transfer_accuracy if baseline else None,
            )
        )
    rows.append(
        row(
            "worst-case robust accuracy (every attack of the suite)",
            candidate.worst_case_robust_accuracy.value,
            value_of(baseline and baseline.worst_case_robust_accuracy),
        )
    )
    rows += [
        row(label, e.value, value_of(getattr(baseline, name, None)))
        for name, label, e in candidate.others()
    ]
    details, base_details = result.details[CANDIDATE], result.details.get(BASELINE)
    steps = {step["attack"]: step for step in details["cascade"]}
    base_steps = {step["attack"]: step for step in (base_details or {}).get("cascade", [])}
    for name in verdict.suite:
        if name in steps:
            for label, key in _CASCADE_ROWS:
                base = base_steps[name][key] if name in base_steps else None
                rows.append(row(f"{name}: {label}", steps[name][key], base))
            continue
        for label, key in _ATTACK_ROWS:
            base = base_details["attacks"][name][key] if base_details else None
            rows.append(row(f"{name}: {label}", details["attacks"][name][key], base))
    return rows


def interval_rows(result: EvaluationResult) -> List[list]:
    """(accuracy, value, 'low-high') for clean, each reported attack, the worst case and any
    figure the report does not lay out by hand."""
    verdict = result.verdict
    candidate = verdict.candidate
    rows = [("clean", candidate.clean_accuracy)]
    rows += list(candidate.robust(verdict.suite).items())
    rows.append(("worst case", candidate.worst_case_robust_accuracy))
    rows += [(label, estimate) for _, label, estimate in candidate.others()]
    return [[name, e.value, "{:.4f}-{:.4f}".format(*e.bounds)] for name, e in rows]


def paired_section(paired_tests: Mapping[str, dict]) -> List[str]:
    """The paired tests against production, when there is a baseline."""
    if not paired_tests:
        return []
    rows = [
        [
            kind,
            test["change"],
            f"{test['change_interval'][0]:+.4f} to {test['change_interval'][1]:+.4f}",
            f"{test['baseline_only']} / {test['candidate_only']}",
            f"{test['p_value']:.3g}",
        ]
        for kind, test in paired_tests.items()
    ]
    header = ["accuracy", "change", "95% interval", "right only for baseline / candidate", "p"]
    return [
        "<h2>Paired tests against production (same examples, exact McNemar)</h2>",
        table(header, rows, "paired"),
    ]


def corruption_section(result: EvaluationResult) -> List[str]:
    """Accuracy per natural corruption (mean over its severities, with its interval), the
    baseline's, the corruption error against it and the paired test's p-value."""
    candidate, baseline = result.verdict.candidate, result.verdict.baseline
    if candidate.corruption_mean is None:
        return []
    comparison = result.corruption_comparison
    errors, tests = comparison.get("ce", {}), comparison.get("tests", {})
    base_by_name = baseline.corruption_by_name if baseline is not None else {}

    def row(label: str, key: str, estimate, base, error) -> list:
        test = tests.get(key)
        low, high = estimate.bounds
        p = f"{test['p_value']:.3g}" if test else None
        return [label, estimate.value, f"{low:.4f}-{high:.4f}", base, error, p]

    rows = [
        row(
            "<b>mean</b>",
            "mean",
            candidate.corruption_mean,
            value_of(baseline and baseline.corruption_mean),
            comparison.get("mce"),
        )
    ]
    rows += [
        row(html.escape(name), name, estimate,
            base_by_name[name].value if name in base_by_name else None, errors.get(name))
        for name, estimate in candidate.corruption_by_name.items()
    ]  # fmt: skip
    header = ["corruption", "candidate", "95% interval", "baseline", "CE (mCE)", "p"]
    return [
        "<h2>Natural corruptions (MNIST-C / ImageNet-C)</h2>",
        "<p class='note'>Accuracy under each corruption, averaged over its severities; the "
        f"worst is {html.escape(candidate.corruption_worst_name or '')}. CE is the corruption "
        "error of Hendrycks and Dietterich with the production model as the reference (below "
        "1: fewer errors than production); p is the exact paired test on the same corrupted "
        "examples. Intervals of averaged accuracies take the number of examples as n "
        f"(conservative). {html.escape(result.corruption_note)}</p>",
        table(header, rows, "corruptions"),
    ]


def rule_rows(result: EvaluationResult) -> List[list]:
    return [
        [
            rule.rule,
            rule.value,
            rule.threshold,
            "pass" if rule.passed else "<b>FAIL</b>",
            html.escape(rule.message),
        ]
        for rule in result.verdict.rules
    ]


def class_rows(result: EvaluationResult) -> List[list]:
    """(class, clean, each reported attack, worst case, and certified when the verifier ran)
    of the candidate."""
    details = result.details[CANDIDATE]
    by_attack = [
        attack_metrics(details, name)["per_class_robust_accuracy"] for name in result.verdict.suite
    ]
    by_attack.append(details["per_class_worst_case_accuracy"])
    if "per_class_certified_accuracy" in details:
        by_attack.append(details["per_class_certified_accuracy"])
    return [
        [name, clean] + [per_class[name] for per_class in by_attack]
        for name, clean in details["per_class_clean_accuracy"].items()
    ]
