"""Renders the robustness report: one self-contained HTML file plus the plots as PNG files.

The HTML embeds its images as data URIs, so it can be opened from any artifact store or
attached to a CI run as a single file. Inputs are plain data (metric dictionaries, rule
results, sample arrays); nothing here runs a model.
"""

import base64
import html
import math
import os
from typing import List, Mapping, Optional, Sequence

from robustfx.robustness.presentation.report_plots import (
    plot_activations,
    plot_corruption_bars,
    plot_corruption_grid,
    plot_curves,
    plot_grid,
)
from robustfx.robustness.presentation.report_samples import ReportSamples
from robustfx.robustness.verdict.metrics import attack_metrics, robust_accuracies

REPORT_FILE = "report.html"
CURVES_FILE = "robustness_curves.png"
GRID_FILE = "examples_grid.png"
ACTIVATIONS_FILE = "activations.png"
CORRUPTION_GRID_FILE = "corruptions_grid.png"
CORRUPTION_BARS_FILE = "corruption_accuracy.png"


def _data_uri(path: str) -> str:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell if isinstance(cell, str) else _fmt(cell)}</td>" for cell in row)
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


def metrics_rows(metrics_by_role: Mapping[str, dict], attack_names: Sequence[str]) -> List[list]:
    """Rows of (metric, candidate, baseline, change) for the metrics table."""
    candidate, baseline = metrics_by_role["candidate"], metrics_by_role.get("baseline")

    def row(label: str, value, base) -> list:
        change = None
        if isinstance(value, float) and isinstance(base, float) and not isinstance(value, bool):
            change = f"{value - base:+.4f}"
        return [label, value, base, change]

    rows = [
        row(
            "clean accuracy",
            candidate["clean_accuracy"],
            baseline["clean_accuracy"] if baseline else None,
        )
    ]
    if candidate.get("transfer_accuracy") is not None:
        rows.append(
            row(
                "transfer accuracy (write-ups' protocol: crafted against the reference)",
                candidate["transfer_accuracy"],
                baseline.get("transfer_accuracy") if baseline else None,
            )
        )
    rows.append(
        row(
            "worst-case robust accuracy (every attack of the suite)",
            candidate["worst_case_robust_accuracy"],
            baseline["worst_case_robust_accuracy"] if baseline else None,
        )
    )
    steps = {step["attack"]: step for step in candidate["cascade"]}
    base_steps = {step["attack"]: step for step in (baseline or {}).get("cascade", [])}
    for name in attack_names:
        if name in steps:
            for label, key in _CASCADE_ROWS:
                base = base_steps[name][key] if name in base_steps else None
                rows.append(row(f"{name}: {label}", steps[name][key], base))
            continue
        for label, key in _ATTACK_ROWS:
            base = baseline["attacks"][name][key] if baseline else None
            rows.append(row(f"{name}: {label}", candidate["attacks"][name][key], base))
    return rows


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px}
th{background:#f0f0f0}td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-size:1.4em;font-weight:bold;padding:.5em 1em;border-radius:6px;display:inline-block}
.blessed{background:#d9f2d9;color:#145214}.not-blessed{background:#f8d7da;color:#7a1620}
img{max-width:100%;border:1px solid #eee}.note{color:#555;font-size:.9em}
"""


def interval_rows(candidate: Mapping[str, dict], suite: Sequence[str]) -> List[list]:
    """(accuracy, value, '[low, high]') for clean, each attack and the worst case."""
    rows = [("clean", candidate["clean_accuracy"], candidate["clean_accuracy_interval"])]
    values = robust_accuracies(candidate, suite)
    intervals = robust_accuracies(candidate, suite, key="robust_accuracy_interval")
    rows += [(name, values[name], intervals[name]) for name in suite]
    rows.append(
        (
            "worst case",
            candidate["worst_case_robust_accuracy"],
            candidate["worst_case_robust_accuracy_interval"],
        )
    )
    return [[name, value, f"{low:.4f}-{high:.4f}"] for name, value, (low, high) in rows]


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
        _table(header, rows, "paired"),
    ]


def corruption_section(
    metrics_by_role: Mapping[str, dict], comparison: Mapping[str, object], note: str = ""
) -> List[str]:
    """Accuracy per natural corruption (mean over its severities, with its interval), the
    baseline's, the corruption error against it and the paired test's p-value."""
    candidate = metrics_by_role["candidate"]
    if "corruption_mean" not in candidate:
        return []
    baseline = metrics_by_role.get("baseline", {})
    errors, tests = comparison.get("ce", {}), comparison.get("tests", {})

    def row(label: str, key: str, value: float, interval, base, error) -> list:
        test = tests.get(key)
        return [
            label,
            value,
            f"{interval[0]:.4f}-{interval[1]:.4f}",
            base,
            error,
            f"{test['p_value']:.3g}" if test else None,
        ]

    by_name, intervals = candidate["corruption_by_name"], candidate["corruption_by_name_interval"]
    base_by_name = baseline.get("corruption_by_name", {})
    rows = [
        row(
            "<b>mean</b>",
            "mean",
            candidate["corruption_mean"],
            candidate["corruption_mean_interval"],
            baseline.get("corruption_mean"),
            comparison.get("mce"),
        )
    ]
    rows += [
        row(html.escape(name), name, by_name[name], intervals[name], base_by_name.get(name),
            errors.get(name))
        for name in by_name
    ]  # fmt: skip
    header = ["corruption", "candidate", "95% interval", "baseline", "CE (mCE)", "p"]
    return [
        "<h2>Natural corruptions (MNIST-C / ImageNet-C)</h2>",
        "<p class='note'>Accuracy under each corruption, averaged over its severities; the "
        f"worst is {html.escape(candidate['corruption_worst_name'])}. CE is the corruption "
        "error of Hendrycks and Dietterich with the production model as the reference (below "
        "1: fewer errors than production); p is the exact paired test on the same corrupted "
        "examples. Intervals of averaged accuracies take the number of examples as n "
        f"(conservative). {html.escape(note)}</p>",
        _table(header, rows, "corruptions"),
    ]


def render_report(
    output_dir: str,
    metrics_by_role: Mapping[str, dict],
    rules: Sequence[dict],
    blessed: bool,
    suite: Sequence[str],
    samples: Optional[ReportSamples] = None,
    title: str = "Robustness report",
    paired_tests: Optional[Mapping[str, dict]] = None,
    advice: Sequence[str] = (),
    corruption_comparison: Optional[Mapping[str, object]] = None,
    corruption_note: str = "",
) -> str:
    """Writes the PNGs and ``report.html`` into ``output_dir`` (any filesystem TensorFlow
    reaches: gs://, ram://, local); returns the HTML path."""
    import tensorflow as tf

    tf.io.gfile.makedirs(output_dir)
    curves = os.path.join(output_dir, CURVES_FILE)
    plot_curves(metrics_by_role, curves)
    figures = [("Robustness curves: accuracy against epsilon (white-box)", curves)]
    bars = os.path.join(output_dir, CORRUPTION_BARS_FILE)
    if plot_corruption_bars(metrics_by_role, bars):
        figures.append(("Accuracy per natural corruption (mean over severities)", bars))
    if samples is not None and len(samples.labels):
        grid = os.path.join(output_dir, GRID_FILE)
        plot_grid(samples, grid)
        figures.append(
            (
                f"Clean and perturbed examples ({samples.attack_name}, crafted against "
                "the candidate; red = candidate fooled)",
                grid,
            )
        )
        activations = os.path.join(output_dir, ACTIVATIONS_FILE)
        if plot_activations(samples, activations):
            figures.append(
                (
                    "Conv-layer activations (channel mean) before and after the perturbation",
                    activations,
                )
            )
        corrupted = os.path.join(output_dir, CORRUPTION_GRID_FILE)
        if plot_corruption_grid(samples, corrupted):
            figures.append(
                (
                    "One example under every corruption, severity 0 (clean) to 5 (candidate's "
                    "prediction; red = wrong)",
                    corrupted,
                )
            )

    verdict_css = "blessed" if blessed else "not-blessed"
    verdict = "BLESSED" if blessed else "NOT BLESSED"
    rule_rows = [
        [
            r["rule"],
            r["value"],
            r["threshold"],
            "pass" if r["passed"] else "<b>FAIL</b>",
            html.escape(r["message"]),
        ]
        for r in rules
    ]
    candidate = metrics_by_role["candidate"]
    by_attack = [attack_metrics(candidate, a)["per_class_robust_accuracy"] for a in suite]
    class_rows = [
        [name, clean]
        + [per_class[name] for per_class in by_attack]
        + [candidate["per_class_worst_case_accuracy"][name]]
        for name, clean in candidate["per_class_clean_accuracy"].items()
    ]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f'<div class="verdict {verdict_css}">{verdict}</div>',
        f"<p class='note'>{candidate['num_examples']} examples. Every gradient attack is "
        "white-box against the model it judges, and the Square attack is black-box; images "
        "stay in [0, 1]. The worst case counts an example as robust only if it survives every "
        "attack. Rules named validity:* check the evaluation itself (Carlini et al. 2019); "
        "a failed check refuses the blessing.</p>",
        "<h2>Blessing rules</h2>",
        _table(["rule", "value", "threshold", "result", "detail"], rule_rows, "rules"),
        "<h2>Metrics: candidate against baseline</h2>",
        _table(
            ["metric", "candidate", "baseline", "change"],
            metrics_rows(metrics_by_role, suite),
            "metrics",
        ),
        "<h2>How sure: 95% intervals (candidate)</h2>",
        _table(["accuracy", "value", "95% interval"], interval_rows(candidate, suite), "intervals"),
        *[f"<p class='note'>{html.escape(line)}</p>" for line in advice],
        *paired_section(paired_tests or {}),
        *corruption_section(metrics_by_role, corruption_comparison or {}, corruption_note),
        "<h2>Per-class accuracy (candidate)</h2>",
        _table(["class", "clean"] + list(suite) + ["worst case"], class_rows, "classes"),
    ]
    for caption, path in figures:
        parts.append(
            f"<h2>{html.escape(caption)}</h2><img src='{_data_uri(path)}' "
            f"alt='{html.escape(os.path.basename(path))}'>"
        )
    parts.append("</body></html>")
    report = os.path.join(output_dir, REPORT_FILE)
    with tf.io.gfile.GFile(report, "w") as f:
        f.write("\n".join(parts))
    return report
