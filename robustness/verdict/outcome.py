"""What an evaluation concluded, as typed data: the ``Verdict`` (the headline figures, the
rules, validity and blessing) and the ``EvaluationResult`` around it (the verdict plus the
detail the report draws: per class, each cascade step and each attack).

``EvaluationResult.to_dict`` is ``metrics.json``; ``EvaluationResult.from_dict`` reads it
back, so every reader of a finished evaluation (the run summary, ``history``, ``compare``,
``kfp run-local``) works on the same typed verdict as the evaluation itself.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.rules import RuleResult, failure_reasons

CANDIDATE, BASELINE, REFERENCE = "candidate", "baseline", "reference"
METRICS_FILE = "metrics.json"  # where an evaluation keeps ``EvaluationResult.to_dict()``


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The headline figures of the candidate (and the baseline judged beside it), the rules
    and what they decided."""

    candidate: Figures
    baseline: Optional[Figures]
    suite: Tuple[str, ...]  # the reported attacks: references, then the cascade, in order
    suite_name: str  # quick, standard or custom
    corruption_set: str
    rules: Tuple[RuleResult, ...]
    evaluation_valid: bool  # every validity check passed
    blessed: bool
    # Candidate against baseline on the same examples: 'clean', 'worst', 'corruption_mean'.
    paired_tests: Mapping[str, dict] = dataclasses.field(default_factory=dict)
    advice: Tuple[str, ...] = ()  # the sample-size advice

    @property
    def reasons(self) -> Tuple[str, ...]:
        """Why the model was not blessed: each failed rule's message; empty when blessed."""
        return tuple(failure_reasons(list(self.rules)))

    def robust(self, figures: Optional[Figures] = None) -> Dict[str, float]:
        """The robust accuracy of each reported attack (of ``figures``, the candidate's by
        default), in suite order."""
        chosen = figures or self.candidate
        return {name: estimate.value for name, estimate in chosen.robust(self.suite).items()}


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation found: the verdict, and what ``metrics.json`` keeps besides."""

    verdict: Verdict
    # Role -> that model's record: the figures' keys and the detail the report draws (per
    # class, each cascade step, each attack and its noise control, each corruption severity).
    details: Dict[str, dict]
    validity: Tuple[RuleResult, ...] = ()
    baseline_skipped: Optional[str] = None  # why the production baseline was not evaluated
    # Role -> what the graph check read (graph_safety.GraphReport.to_dict()), ops let
    # through by --allow-op included.
    graph_checks: Dict[str, dict] = dataclasses.field(default_factory=dict)
    # What the corruption set skipped for these images, and against the baseline the
    # corruption errors (CE per corruption, mCE) and the paired tests per corruption.
    corruption_note: str = ""
    corruption_comparison: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # Role -> how the model was called: signature, input, output, pixel scale, and whether
    # its output held logits or probabilities (model_interface.ModelInterface.to_dict()).
    interfaces: Dict[str, dict] = dataclasses.field(default_factory=dict)
    # An early-deciding evaluation's rounds: the plan, where it stopped and why, and each
    # rule's record (sequential_result.decided_early); empty when every example was judged
    # at once.
    decided_early: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # The verifier: its method ('none' when it did not run), norm and epsilon, and role ->
    # why a model got no certificate (``preparation.Prepared.certification``).
    certification: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def bracket(self) -> str:
        """The candidate's bracket in one line: certified <= true robust accuracy <= worst
        case; or why it got no certificate; '' when the verifier did not run."""
        found = self.certification
        if not found or found.get("method", "none") == "none":
            return ""
        if CANDIDATE in found.get("uncertifiable", {}):
            return f"no certificate: {found['uncertifiable'][CANDIDATE]}"
        certified = self.verdict.candidate.certified_accuracy
        if certified is None:
            return ""
        worst = self.verdict.candidate.worst_case_robust_accuracy.value
        return (
            f"{certified.value:.4f} certified <= true robust accuracy <= {worst:.4f} worst "
            f"case ({found['method'].upper()} at {found['norm']} {found['epsilon']:g}; the gap "
            "is what neither a proof nor an attack has settled)"
        )

    def to_dict(self) -> dict:
        """``metrics.json``."""
        verdict = self.verdict
        early = {"decided_early": self.decided_early} if self.decided_early else {}
        return {
            **early,
            "suite": list(verdict.suite),
            "suite_name": verdict.suite_name,
            "evaluation_valid": verdict.evaluation_valid,
            "validity": [check.to_dict() for check in self.validity],
            "paired_tests": dict(verdict.paired_tests),
            "advice": list(verdict.advice),
            "baseline_skipped": self.baseline_skipped,
            "graph_checks": self.graph_checks,
            "corruption_set": verdict.corruption_set,
            "corruption_note": self.corruption_note,
            "corruption_comparison": self.corruption_comparison,
            "interfaces": self.interfaces,
            "certification": self.certification,
            "blessed": verdict.blessed,
            "reasons": list(verdict.reasons),
            "rules": [rule.to_dict() for rule in verdict.rules],
            "metrics": self.details,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "EvaluationResult":
        """The result a ``metrics.json`` records (keys an older record lacks take their
        defaults)."""
        details = dict(record["metrics"])
        validity = tuple(RuleResult(**check) for check in record.get("validity", []))
        verdict = Verdict(
            candidate=Figures.of(details[CANDIDATE]),
            baseline=Figures.of(details[BASELINE]) if BASELINE in details else None,
            suite=tuple(record.get("suite", ())),
            suite_name=record.get("suite_name", ""),
            corruption_set=record.get("corruption_set", "none"),
            rules=tuple(RuleResult(**rule) for rule in record.get("rules", [])),
            evaluation_valid=record.get("evaluation_valid", all(c.passed for c in validity)),
            blessed=bool(record["blessed"]),
            paired_tests=dict(record.get("paired_tests", {})),
            advice=tuple(record.get("advice", ())),
        )
        return cls(
            verdict,
            details,
            validity,
            record.get("baseline_skipped"),
            dict(record.get("graph_checks", {})),
            record.get("corruption_note", ""),
            dict(record.get("corruption_comparison", {})),
            dict(record.get("interfaces", {})),
            dict(record.get("decided_early", {})),
            dict(record.get("certification", {})),
        )
