"""Renders the robustness report: one self-contained HTML file plus the plots as PNG files.

The HTML embeds its images as data URIs, so it can be opened from any artifact store or
attached to a CI run as a single file. Inputs are plain data (an ``EvaluationResult``, sample
arrays); nothing here runs a model.
"""

import base64
import html
import os
from typing import List, Optional, Tuple

from robustfx.robustness.presentation.report_plots import (
    plot_activations,
    plot_bracket,
    plot_corruption_bars,
    plot_corruption_grid,
    plot_curves,
    plot_grid,
)
from robustfx.robustness.presentation.report_samples import ReportSamples
from robustfx.robustness.presentation.report_tables import (
    class_rows,
    corruption_section,
    interval_rows,
    metrics_rows,
    paired_section,
    rule_rows,
    table,
)
from robustfx.robustness.verdict.outcome import BASELINE, CANDIDATE, EvaluationResult

REPORT_FILE = "report.html"
CURVES_FILE = "robustness_curves.png"
GRID_FILE = "examples_grid.png"
ACTIVATIONS_FILE = "activations.png"
CORRUPTION_GRID_FILE = "corruptions_grid.png"
CORRUPTION_BARS_FILE = "corruption_accuracy.png"
BRACKET_FILE = "bracket.png"


def _data_uri(path: str) -> str:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px}
th{background:#f0f0f0}td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-size:1.4em;font-weight:bold;padding:.5em 1em;border-radius:6px;display:inline-block}
.blessed{background:#d9f2d9;color:#145214}.not-blessed{background:#f8d7da;color:#7a1620}
img{max-width:100%;border:1px solid #eee}.note{color:#555;font-size:.9em}
"""


def _plots(
    output_dir: str, result: EvaluationResult, samples: Optional[ReportSamples]
) -> List[Tuple[str, str]]:
    """Writes the figures as PNG files into ``output_dir``: (caption, path) of each."""
    verdict = result.verdict
    by_role = {CANDIDATE: verdict.candidate}
    if verdict.baseline is not None:
        by_role[BASELINE] = verdict.baseline
    curves = os.path.join(output_dir, CURVES_FILE)
    plot_curves(by_role, curves)
    figures = [("Robustness curves: accuracy against epsilon (white-box)", curves)]
    bracket = os.path.join(output_dir, BRACKET_FILE)
    if plot_bracket(verdict.candidate, result.details[CANDIDATE], bracket):
        method = result.certification.get("method", "").upper()
        figures.append(
            (
                f"The bracket: certified ({method}, a proven lower bound) and attacked (the "
                "worst case, an upper bound) accuracy, per class and over epsilon",
                bracket,
            )
        )
    bars = os.path.join(output_dir, CORRUPTION_BARS_FILE)
    if plot_corruption_bars(by_role, bars):
        figures.append(("Accuracy per natural corruption (mean over severities)", bars))
    if samples is None or not len(samples.labels):
        return figures
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
            ("Conv-layer activations (channel mean) before and after the perturbation", activations)
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
    return figures


def render_report(
    output_dir: str,
    result: EvaluationResult,
    samples: Optional[ReportSamples] = None,
    title: str = "Robustness report",
) -> str:
    """Writes the PNGs and ``report.html`` into ``output_dir`` (any filesystem TensorFlow
    reaches: gs://, ram://, local); returns the HTML path."""
    import tensorflow as tf

    tf.io.gfile.makedirs(output_dir)
    figures = _plots(output_dir, result, samples)
    verdict = result.verdict
    verdict_css = "blessed" if verdict.blessed else "not-blessed"
    shown = "BLESSED" if verdict.blessed else "NOT BLESSED"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f'<div class="verdict {verdict_css}">{shown}</div>',
        f"<p class='note'>{verdict.candidate.num_examples} examples. Every gradient attack is "
        "white-box against the model it judges, and the Square attack is black-box; images "
        "stay in [0, 1]. The worst case counts an example as robust only if it survives every "
        "attack. Rules named validity:* check the evaluation itself (Carlini et al. 2019); "
        "a failed check refuses the blessing.</p>",
        "<h2>Blessing rules</h2>",
        table(["rule", "value", "threshold", "result", "detail"], rule_rows(result), "rules"),
        "<h2>Metrics: candidate against baseline</h2>",
        table(["metric", "candidate", "baseline", "change"], metrics_rows(result), "metrics"),
        "<h2>How sure: 95% intervals (candidate)</h2>",
        table(["accuracy", "value", "95% interval"], interval_rows(result), "intervals"),
        *[f"<p class='note'>{html.escape(line)}</p>" for line in verdict.advice],
        *paired_section(verdict.paired_tests),
        *corruption_section(result),
        "<h2>Per-class accuracy (candidate)</h2>",
        table(
            ["class", "clean", *verdict.suite, "worst case"]
            + (["certified"] if verdict.candidate.certified_accuracy is not None else []),
            class_rows(result),
            "classes",
        ),
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
