"""The gate's verdict as Markdown (``robustfx gate`` prints it and writes ``--markdown``):
the decision, the rules with their values and thresholds, candidate against baseline for
every figure, and how early each rule was decided; and the failed rules, one line each."""

from typing import List, Optional

from robustfx.robustness.models.model_interface import ModelInterface
from robustfx.robustness.presentation.model_card import early_rows, early_summary
from robustfx.robustness.presentation.recording import Recorded
from robustfx.robustness.verdict.figures import value_of
from robustfx.robustness.verdict.outcome import CANDIDATE, EvaluationResult
from robustfx.robustness.verdict.sequential_result import undecided_rules


def _cell(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def _graph_check_line(result: EvaluationResult) -> str:
    check = result.graph_checks.get(CANDIDATE)
    if not check:
        return "- graph check: not run"
    line = f"- graph check: passed ({len(check['ops'])} op types, {check['seconds']:.3f} s)"
    allowed = ", ".join(f"`{op}`" for op in check["allowed_by_flag"])
    return line + (f"; let through by --allow-op: {allowed}" if allowed else "")


def _interface_line(result: EvaluationResult) -> str:
    interface = result.interfaces.get(CANDIDATE)
    return f"- called as: {ModelInterface.from_dict(interface).describe()}" if interface else ""


def to_markdown(
    recorded: Recorded,
    model: str,
    baseline: Optional[str],
    dataset: str,
    split: str,
) -> str:
    """The gate's verdict as GitHub-flavoured Markdown."""
    result = recorded.result
    verdict = result.verdict
    early = result.decided_early
    examples = f"{verdict.candidate.num_examples} examples"
    examples += f" of {early['num_examples']} judged" if early else ""
    lines = [
        f"## Robustness gate: {'✅ PASS' if verdict.blessed else '❌ FAIL'}",
        "",
        f"- candidate: `{model}`",
        f"- baseline: `{baseline}`" if baseline else "- baseline: none",
        f"- data: `{dataset}` split `{split}`, {examples}, suite `{verdict.suite_name}`; "
        f"evaluation valid: {'yes' if verdict.evaluation_valid else 'NO'}",
        *([f"- {early_summary(early)}"] if early else []),
        _graph_check_line(result),
        _interface_line(result),
        *([f"- bracket: {result.bracket()}"] if result.bracket() else []),
        f"- report: `{recorded.report}`; model card: `{recorded.card_path}`",
        "",
        "| rule | value | threshold | result |",
        "|---|---|---|---|",
    ]
    undecided = undecided_rules(result.decided_early)
    for rule in verdict.rules:
        shown = "pass" if rule.passed else "**FAIL**"
        lines.append(
            f"| {rule.rule} | {_cell(rule.value)} | {_cell(rule.threshold)} | "
            f"{'not decided' if rule.rule in undecided else shown} |"
        )
    candidate, base = verdict.candidate, verdict.baseline
    lines += ["", "| metric | candidate | baseline |", "|---|---|---|"]
    lines.append(
        f"| clean accuracy | {_cell(candidate.clean_accuracy.value)} | "
        f"{_cell(value_of(base and base.clean_accuracy))} |"
    )
    others = verdict.robust(base) if base else {}
    for name, value in verdict.robust().items():
        lines.append(f"| {name} | {_cell(value)} | {_cell(others.get(name))} |")
    lines.append(
        f"| **worst case** | {_cell(candidate.worst_case_robust_accuracy.value)} | "
        f"{_cell(value_of(base and base.worst_case_robust_accuracy))} |"
    )
    lines += _corruption_rows(result)
    lines += [
        f"| {label} | {_cell(estimate.value)} | {_cell(value_of(getattr(base, name, None)))} |"
        for name, label, estimate in candidate.others()
    ]
    lines += ["", "### Decided early", "", *early_rows(early)] if early else []
    if verdict.reasons:
        lines += ["", "Failed:"] + [f"- {reason}" for reason in verdict.reasons]
    return "\n".join(lines) + "\n"


def _corruption_rows(result: EvaluationResult) -> List[str]:
    """The corruption rows of the metric table: the mean, the worst corruption, each
    corruption (averaged over its severities) and the mCE against the baseline."""
    verdict = result.verdict
    candidate, base = verdict.candidate, verdict.baseline
    if candidate.corruption_mean is None:
        return []
    base_by_name = base.corruption_by_name if base is not None else {}

    def by_name(name: Optional[str]) -> Optional[float]:
        return base_by_name[name].value if name in base_by_name else None

    worst = candidate.corruption_worst_name
    rows = [
        f"| **corruptions, mean** ({verdict.corruption_set} set) | "
        f"{_cell(candidate.corruption_mean.value)} | "
        f"{_cell(value_of(base and base.corruption_mean))} |",
        f"| **worst corruption** ({worst}) | {_cell(candidate.corruption_worst.value)} | "
        f"{_cell(by_name(worst))} |",
    ]
    rows += [
        f"| {name} | {_cell(estimate.value)} | {_cell(by_name(name))} |"
        for name, estimate in candidate.corruption_by_name.items()
    ]
    mce = result.corruption_comparison.get("mce")
    if mce is not None:
        rows.append(f"| mCE (baseline = 1) | {_cell(mce)} | 1 |")
    return rows


def failed_rules(result: EvaluationResult) -> List[str]:
    """Each rule that did not pass: value vs threshold, and whether it was left undecided."""
    undecided = undecided_rules(result.decided_early)
    return [
        f"{rule.rule}: {_cell(rule.value)} vs threshold {_cell(rule.threshold)}"
        + (" (not decided: the gate stopped at another failure)" if rule.rule in undecided else "")
        for rule in result.verdict.rules
        if not rule.passed
    ]
