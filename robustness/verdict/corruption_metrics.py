"""Accuracy under natural corruptions, from merged counts, and the corruption error against
the production model. Pure Python, no TF.

- ``corruption_metrics``: accuracy per corruption and severity (each with its 95% Wilson
  interval), per corruption (averaged over its severities), their mean, and the worst
  corruption. An averaged accuracy is a mean of per-example scores in [0, 1] whose variance
  is at most a Bernoulli's, so its Wilson interval takes the number of examples as n: it is
  conservative, never narrower than the data allow.
- ``corruption_errors``: the corruption error (CE) of Hendrycks and Dietterich (2019), with
  the production baseline as the reference model: per corruption, the candidate's errors
  summed over the severities over the baseline's, and mCE, their mean. Below 1 the candidate
  errs less under corruption than the model it would replace.
"""

from typing import Dict, Mapping, Optional

from robustfx.robustness.verdict.statistics import wilson_interval


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def corruption_metrics(corruptions: Mapping[str, Mapping[str, int]], total: int) -> dict:
    """The metrics' corruption keys from ``RobustnessCounts.corruptions`` (name -> severity
    -> examples still correct) over ``total`` examples; empty when no corruption ran."""
    if not corruptions or total <= 0:
        return {}
    by_run = {
        name: {severity: correct / total for severity, correct in by_severity.items()}
        for name, by_severity in corruptions.items()
    }
    by_name = {name: _mean(accuracies.values()) for name, accuracies in by_run.items()}
    mean = _mean(by_name.values())
    worst = min(by_name, key=lambda name: (by_name[name], name))

    def interval(accuracy: float):
        return list(wilson_interval(accuracy * total, total))

    return {
        "corruption_accuracy": by_run,
        "corruption_accuracy_interval": {
            name: {
                severity: list(wilson_interval(correct, total))
                for severity, correct in by_severity.items()
            }
            for name, by_severity in corruptions.items()
        },
        "corruption_by_name": by_name,
        "corruption_by_name_interval": {name: interval(a) for name, a in by_name.items()},
        "corruption_mean": mean,
        "corruption_mean_interval": interval(mean),
        "corruption_worst": by_name[worst],
        "corruption_worst_interval": interval(by_name[worst]),
        "corruption_worst_name": worst,
    }


def corruption_errors(candidate: Mapping, baseline: Mapping) -> Optional[Dict[str, object]]:
    """``{'ce': {corruption: CE or None}, 'mce': mCE or None}`` of the candidate against the
    baseline's metrics on the same examples and corruptions; None when neither judged
    corruptions. A corruption the baseline never erred on has no CE (None): it is left out of
    the mean."""
    mine = candidate.get("corruption_accuracy") or {}
    theirs = baseline.get("corruption_accuracy") or {}
    if not mine or not theirs:
        return None
    errors: Dict[str, Optional[float]] = {}
    for name, by_severity in mine.items():
        own = sum(1.0 - accuracy for accuracy in by_severity.values())
        reference = sum(1.0 - theirs[name][severity] for severity in by_severity)
        errors[name] = own / reference if reference > 0 else None
    defined = [value for value in errors.values() if value is not None]
    return {"ce": errors, "mce": _mean(defined) if defined else None}
