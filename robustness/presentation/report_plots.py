"""The report's figures as PNG files: robustness curves over epsilon, the bracket (certified
and attacked accuracy per class and over epsilon), the clean/perturbed example grid,
conv-layer activations before and after perturbation, one example under every corruption and
severity, and accuracy per corruption for candidate and baseline. Inputs are plain data (each
model's ``Figures`` and metrics record, sample arrays); nothing here runs a model.
"""

import io
import re
from collections import defaultdict
from typing import Dict, List, Mapping

import matplotlib

matplotlib.use("Agg")  # headless: pipelines and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robustfx.base.attack_config import AttackConfig  # noqa: E402
from robustfx.robustness.presentation.report_samples import ReportSamples  # noqa: E402
from robustfx.robustness.verdict.figures import Figures  # noqa: E402

_ROLES = ("candidate", "baseline")


def _family(name: str) -> str:
    """'pgd10_linf_0.2' -> 'pgd10_linf': attacks that differ only in epsilon."""
    return re.sub(r"_[0-9.]+$", "", name)


def curve_points(figures: Figures) -> Dict[str, List[tuple]]:
    """Attack family -> sorted (epsilon, robust accuracy) points, starting at (0, clean)."""
    curves: Dict[str, List[tuple]] = defaultdict(list)
    for name, accuracy in figures.robust_accuracy.items():
        curves[_family(name)].append((AttackConfig.from_name(name).epsilon, accuracy.value))
    return {
        family: sorted(set([(0.0, figures.clean_accuracy.value)] + points))
        for family, points in curves.items()
    }


def _save(figure, path: str) -> None:
    """PNG to ``path`` on any filesystem TensorFlow reaches (gs://, ram://, local)."""
    import tensorflow as tf

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(buffer.getvalue())


def plot_curves(figures_by_role: Mapping[str, Figures], path: str) -> None:
    families = sorted(curve_points(figures_by_role["candidate"]))
    figure, axes = plt.subplots(1, len(families), figsize=(4.2 * len(families), 3.4), squeeze=False)
    for axis, family in zip(axes[0], families, strict=True):
        for role, style in zip(_ROLES, ("-o", "--s"), strict=True):
            if role in figures_by_role:
                points = curve_points(figures_by_role[role]).get(family, [])
                axis.plot(*zip(*points, strict=True), style, label=role)
        axis.set_title(family)
        axis.set_xlabel("epsilon")
        axis.set_ylabel("accuracy")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
        axis.legend()
    _save(figure, path)


def plot_bracket(figures: Figures, record: Mapping, path: str) -> bool:
    """The candidate's bracket: per class, one bar from 0 to the worst case, its proven part
    (0 to the certified accuracy) solid and the unknown part (certified to worst case)
    hatched; beside it, certified and attacked accuracy over epsilon (the sweep's radii).
    Returns False when no certificate was computed."""
    if figures.certified_accuracy is None:
        return False
    names = list(record["per_class_worst_case_accuracy"])
    upper = np.array([record["per_class_worst_case_accuracy"][n] for n in names])
    lower = np.array([record["per_class_certified_accuracy"][n] for n in names])
    figure, (by_class, by_radius) = plt.subplots(
        1, 2, figsize=(max(6.0, 0.5 * len(names) + 2) + 4.5, 3.6), width_ratios=[2, 1]
    )
    positions = np.arange(len(names))
    by_class.bar(positions, lower, 0.6, color="tab:green", label="certified (proven)")
    by_class.bar(
        positions, upper - lower, 0.6, bottom=lower, color="none", edgecolor="tab:orange",
        hatch="//", label="unknown (up to the attacked worst case)",
    )  # fmt: skip
    by_class.set_xticks(positions)
    by_class.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    by_class.set_ylabel("robust accuracy at the threat model")
    by_class.set_ylim(0, 1.02)
    by_class.legend(fontsize=8)
    radii = sorted((float(r), a) for r, a in figures.certified_by_radius.items())
    by_radius.plot(*zip((0.0, figures.clean_accuracy.value), *radii, strict=True), "-o",
                   color="tab:green", label="certified")  # fmt: skip
    attacked = curve_points(figures)
    threat = max(r for r, _ in radii)
    family = max(attacked, key=lambda f: len([e for e, _ in attacked[f] if e <= threat]))
    points = [(e, a) for e, a in attacked[family] if e <= threat]
    by_radius.plot(*zip(*points, strict=True), "--s", color="tab:orange", label=family)
    by_radius.set_xlabel("epsilon")
    by_radius.set_ylim(0, 1.02)
    by_radius.legend(fontsize=8)
    for axis in (by_class, by_radius):
        axis.grid(alpha=0.3)
    _save(figure, path)
    return True


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


def plot_corruption_grid(samples: ReportSamples, path: str) -> bool:
    """One row per corruption: the example at severity 0 (clean) to 5, titled with the
    candidate's prediction (red when wrong). Returns False when no corruption was judged."""
    names = list(samples.corrupted)
    if not names:
        return False
    columns = len(samples.corrupted[names[0]])
    figure, axes = plt.subplots(
        len(names), columns, figsize=(1.3 * columns, 1.45 * len(names)), squeeze=False
    )
    truth = samples.labels[0]
    for row, name in enumerate(names):
        for severity in range(columns):
            predicted = samples.corrupted_predictions[name][severity]
            title = f"s{severity}: {samples.class_names[predicted]}"
            color = "crimson" if predicted != truth else "black"
            _show(axes[row][severity], samples.corrupted[name][severity], title, color)
        axes[row][0].text(
            -0.15, 0.5, name, transform=axes[row][0].transAxes, ha="right", va="center",
            fontsize=8,
        )  # fmt: skip
    _save(figure, path)
    return True


def plot_corruption_bars(figures_by_role: Mapping[str, Figures], path: str) -> bool:
    """Accuracy per corruption (averaged over its severities), candidate beside baseline,
    with each one's 95% interval. Returns False when no corruption was judged."""
    names = list(figures_by_role["candidate"].corruption_by_name)
    if not names:
        return False
    roles = [r for r in _ROLES if r in figures_by_role and figures_by_role[r].corruption_by_name]
    width = 0.8 / len(roles)
    figure, axis = plt.subplots(figsize=(max(5.0, 0.55 * len(names) + 1.5), 3.6))
    for k, role in enumerate(roles):
        by_name = figures_by_role[role].corruption_by_name
        heights = np.array([by_name[name].value for name in names])
        low, high = (np.array([by_name[name].bounds[i] for name in names]) for i in (0, 1))
        positions = np.arange(len(names)) + (k - (len(roles) - 1) / 2) * width
        axis.bar(
            positions, heights, width, yerr=[heights - low, high - heights], capsize=2, label=role
        )
    axis.set_xticks(np.arange(len(names)))
    axis.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    axis.set_ylabel("accuracy (mean over severities)")
    axis.set_ylim(0, 1.02)
    axis.grid(axis="y", alpha=0.3)
    axis.legend()
    _save(figure, path)
    return True
