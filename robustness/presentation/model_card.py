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


def _metric(name: str, value: float, interval: List[float], slice_: str = "") -> dict:
    return {
        "type": name,
        "value": value,
        "slice": slice_,
        "confidence_interval": {"lower_bound": interval[0], "upper_bound": interval[1]},
    }


def _performance(candidate: Mapping, suite: List[str]) -> List[dict]:
    metrics = [
        _metric(
            "clean_accuracy", candidate["clean_accuracy"], candidate["clean_accuracy_interval"]
        ),
        _metric(
            "worst_case_robust_accuracy",
            candidate["worst_case_robust_accuracy"],
            candidate["worst_case_robust_accuracy_interval"],
        ),
    ]
    steps = {step["attack"]: step for step in candidate["cascade"]}
    for name in suite:
        found = candidate["attacks"].get(name) or steps[name]
        metrics.append(
            _metric(f"robust_accuracy[{name}]", found["robust_accuracy"],
                    found["robust_accuracy_interval"])
        )  # fmt: skip
    if "corruption_mean" in candidate:
        metrics.append(
            _metric("corruption_mean", candidate["corruption_mean"],
                    candidate["corruption_mean_interval"])
        )  # fmt: skip
        for name, value in candidate["corruption_by_name"].items():
            interval = candidate["corruption_by_name_interval"][name]
            metrics.append(_metric(f"corruption_accuracy[{name}]", value, interval))
    for class_name, value in candidate["per_class_worst_case_accuracy"].items():
        interval = candidate["per_class_worst_case_accuracy_interval"][class_name]
        metrics.append(
            _metric("worst_case_robust_accuracy", value, interval, f"class={class_name}")
        )
    return metrics


def build_model_card(
    result: Mapping[str, Any],
    model_info: Mapping[str, Any],
    provenance: Mapping[str, Any],
    created: Optional[str] = None,
) -> dict:
    """The card of the judged model.

    Args:
      result: ``EvaluationResult.to_dict()`` of its evaluation.
      model_info: ``dataset`` (name, version, splits), ``model``, ``adversarial``,
        ``training`` (config dicts) and ``evaluation`` (the evaluation config dict).
      provenance: pipeline name and run id, ML Metadata artifact ids, package versions.
      created: ISO time; now when None.
    """
    candidate = result["metrics"]["candidate"]
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
            "performance_metrics": _performance(candidate, list(result["suite"])),
        },
        "robustness_evaluation": {
            "suite": result.get("suite_name"),
            "attacks": list(result["suite"]),
            "config": model_info.get("evaluation", {}),
            "evaluation_valid": result.get("evaluation_valid"),
            "validity_checks": result.get("validity", []),
            "blessed": result["blessed"],
            "rules": result["rules"],
            "baseline": provenance.get("baseline_model_id"),
            "paired_tests": result.get("paired_tests", {}),
            # The natural corruptions: the set, and against the baseline CE per corruption,
            # mCE and the paired tests.
            "corruption_set": result.get("corruption_set", "none"),
            "corruption_comparison": result.get("corruption_comparison", {}),
            # What each model's graph check read; ops let through by --allow-op included.
            "graph_checks": result.get("graph_checks", {}),
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


def render_markdown(card: Mapping[str, Any]) -> str:
    """A human-readable page of the card."""
    details, parameters = card["model_details"], card["model_parameters"]
    robustness, provenance = card["robustness_evaluation"], card["provenance"]
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
        "| metric | slice | value | 95% interval |",
        "|---|---|---|---|",
    ]
    for metric in card["quantitative_analysis"]["performance_metrics"]:
        interval = metric["confidence_interval"]
        lines.append(
            f"| {metric['type']} | {metric['slice'] or 'all'} | {metric['value']:.4f} | "
            f"{interval['lower_bound']:.4f}-{interval['upper_bound']:.4f} |"
        )
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
