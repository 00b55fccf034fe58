"""Renders the robustness report: one self-contained HTML file plus the plots as PNG files.

The HTML embeds its images as data URIs, so it can be opened from any artifact store or
attached to a CI run as a single file. Inputs are plain data (metric dictionaries, rule
results, sample arrays); nothing here runs a model.
"""

import base64
import html
import os
import re
from collections import defaultdict
from typing import Dict, List, Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: pipelines and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robustfx.base.attack_config import AttackConfig  # noqa: E402
from robustfx.robustness.model_under_attack import robust_accuracies  # noqa: E402
from robustfx.robustness.report_samples import ReportSamples  # noqa: E402

REPORT_FILE = "report.html"
CURVES_FILE = "robustness_curves.png"
GRID_FILE = "examples_grid.png"
ACTIVATIONS_FILE = "activations.png"
_ROLES = ("candidate", "baseline")


def _family(name: str) -> str:
    """'pgd10_linf_0.2' -> 'pgd10_linf': attacks that differ only in epsilon."""
    return re.sub(r"_[0-9.]+$", "", name)


def curve_points(metrics: Mapping[str, dict]) -> Dict[str, List[tuple]]:
    """Attack family -> sorted (epsilon, robust accuracy) points, starting at (0, clean)."""
    curves: Dict[str, List[tuple]] = defaultdict(list)
    for name, accuracy in robust_accuracies(metrics).items():
        curves[_family(name)].append((AttackConfig.from_name(name).epsilon, accuracy))
    return {
        family: sorted(set([(0.0, metrics["clean_accuracy"])] + points))
        for family, points in curves.items()
    }


def _save(figure, path: str) -> None:
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_curves(metrics_by_role: Mapping[str, dict], path: str) -> None:
    families = sorted(curve_points(metrics_by_role["candidate"]))
    figure, axes = plt.subplots(1, len(families), figsize=(4.2 * len(families), 3.4), squeeze=False)
    for axis, family in zip(axes[0], families, strict=True):
        for role, style in zip(_ROLES, ("-o", "--s"), strict=True):
            if role in metrics_by_role:
                points = curve_points(metrics_by_role[role]).get(family, [])
                axis.plot(*zip(*points, strict=True), style, label=role)
        axis.set_title(family)
        axis.set_xlabel("epsilon")
        axis.set_ylabel("accuracy")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
        axis.legend()
    _save(figure, path)


def _show(axis, image: np.ndarray, title: str, color: str = "black") -> None:
    axis.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
    axis.set_title(title, fontsize=8, color=color)
    axis.axis("off")


def plot_grid(samples: ReportSamples, path: str) -> None:
    n = len(samples.labels)
    figure, axes = plt.subplots(2, n, figsize=(1.7 * n, 4.0), squeeze=False)
    names = samples.class_names
    for i in range(n):
        truth = names[samples.labels[i]]
        clean = f"true {truth}\ncand {names[samples.candidate_clean[i]]}"
        attacked = f"cand {names[samples.candidate_adversarial[i]]}"
        if samples.baseline_clean is not None:
            clean += f"\nbase {names[samples.baseline_clean[i]]}"
            attacked += f"\nbase {names[samples.baseline_adversarial[i]]}"
        wrong = samples.candidate_adversarial[i] != samples.labels[i]
        _show(axes[0][i], samples.images[i], clean)
        _show(axes[1][i], samples.adversarial[i], attacked, "crimson" if wrong else "black")
    axes[0][0].text(-0.3, 0.5, "clean", transform=axes[0][0].transAxes, rotation=90, va="center")
    axes[1][0].text(
        -0.3, 0.5, samples.attack_name, transform=axes[1][0].transAxes, rotation=90, va="center"
    )
    _save(figure, path)


def plot_activations(samples: ReportSamples, path: str, rows: int = 3) -> bool:
    """Per example: clean and perturbed image, then each conv layer's mean activation map
    before and after the perturbation. Returns False when the model exported none."""
    # Signature outputs come back sorted by name; show the layers in network order.
    layers = sorted(samples.activations_clean, key=lambda n: (len(n), n))
    if not layers:
        return False
    rows = min(rows, len(samples.labels))
    columns = 2 + 2 * len(layers)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    for r in range(rows):
        _show(axes[r][0], samples.images[r], "clean")
        _show(axes[r][1], samples.adversarial[r], "perturbed")
        for j, layer in enumerate(layers):
            before = samples.activations_clean[layer][r].mean(axis=-1)
            after = samples.activations_adversarial[layer][r].mean(axis=-1)
            top = max(before.max(), after.max(), 1e-6)
            for k, (maps, label) in enumerate(((before, "before"), (after, "after"))):
                axis = axes[r][2 + 2 * j + k]
                axis.imshow(maps, cmap="viridis", vmin=0, vmax=top)
                axis.set_title(f"{layer} {label}", fontsize=8)
                axis.axis("off")
    _save(figure, path)
    return True


def _data_uri(path: str) -> str:
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if np.isnan(value) else f"{value:.4f}"
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


def per_class_accuracy(metrics: Mapping[str, dict], name: str) -> Mapping[str, float]:
    """An attack's per-class accuracy, from the cascade or the independent attacks."""
    for step in metrics["cascade"]:
        if step["attack"] == name:
            return step["per_class_robust_accuracy"]
    return metrics["attacks"][name]["per_class_robust_accuracy"]


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px}
th{background:#f0f0f0}td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-size:1.4em;font-weight:bold;padding:.5em 1em;border-radius:6px;display:inline-block}
.blessed{background:#d9f2d9;color:#145214}.not-blessed{background:#f8d7da;color:#7a1620}
img{max-width:100%;border:1px solid #eee}.note{color:#555;font-size:.9em}
"""


def render_report(
    output_dir: str,
    metrics_by_role: Mapping[str, dict],
    rules: Sequence[dict],
    blessed: bool,
    suite: Sequence[str],
    samples: Optional[ReportSamples] = None,
    title: str = "Robustness report",
) -> str:
    """Writes the PNGs and ``report.html`` into ``output_dir``; returns the HTML path."""
    os.makedirs(output_dir, exist_ok=True)
    curves = os.path.join(output_dir, CURVES_FILE)
    plot_curves(metrics_by_role, curves)
    figures = [("Robustness curves: accuracy against epsilon (white-box)", curves)]
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
    class_rows = []
    for name, clean in candidate["per_class_clean_accuracy"].items():
        class_rows.append(
            [name, clean]
            + [per_class_accuracy(candidate, attack)[name] for attack in suite]
            + [candidate["per_class_worst_case_accuracy"][name]]
        )
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
    with open(report, "w") as f:
        f.write("\n".join(parts))
    return report
