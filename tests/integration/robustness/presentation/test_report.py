"""The robustness report: content, plots, and a real render in headless Chromium."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from robustfx.robustness.presentation import report as robustness_report
from robustfx.robustness.presentation import report_plots
from robustfx.robustness.presentation.report_samples import ReportSamples
from robustfx.robustness.presentation.report_tables import metrics_rows
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.outcome import EvaluationResult

BLESSED_VERDICT = '<div class="verdict blessed">BLESSED</div>'


def _metrics(clean, fgsm, pgd):
    def attack(acc):
        return {
            "robust_accuracy": acc,
            "robust_accuracy_interval": [acc - 0.02, acc + 0.02],
            "attack_success_rate": 1 - acc / clean,
            "noise_accuracy": clean - 0.01,
            "gradient_masking_suspected": False,
            "mean_perturbation_norm": 0.2,
            "max_perturbation_norm": 0.2,
            "per_class_robust_accuracy": {"0": acc, "1": acc},
        }

    return {
        "num_examples": 100,
        "clean_accuracy": clean,
        "clean_accuracy_interval": [clean - 0.01, min(1.0, clean + 0.01)],
        "per_class_clean_accuracy": {"0": clean, "1": clean},
        "attacks": {
            "fgsm_linf_0.2": attack(fgsm),
            "fgsm_linf_0.1": attack((clean + fgsm) / 2),
            "pgd10_linf_0.2": attack(pgd),
            "pgd10_linf_0.1": attack((clean + pgd) / 2),
        },
        "cascade": [
            {
                "attack": "apgdce20_linf_0.2",
                "robust_accuracy": pgd - 0.02,
                "robust_accuracy_interval": [pgd - 0.04, pgd],
                "broken": 10,
                "share": clean - pgd + 0.02,
                "max_perturbation_norm": 0.2,
                "per_class_robust_accuracy": {"0": pgd - 0.02, "1": pgd - 0.02},
            }
        ],
        "worst_case_robust_accuracy": pgd - 0.03,
        "worst_case_robust_accuracy_interval": [pgd - 0.05, pgd - 0.01],
        "per_class_worst_case_accuracy": {"0": pgd - 0.03, "1": pgd - 0.03},
    }


METRICS = {"candidate": _metrics(0.97, 0.85, 0.39), "baseline": _metrics(0.96, 0.45, 0.05)}
RULES = [
    {
        "rule": "min_robust_accuracy[fgsm_linf_0.2]",
        "value": 0.85,
        "threshold": 0.7,
        "passed": True,
        "message": "robust accuracy fgsm_linf_0.2 0.8500 vs minimum 0.7000: passes",
    },
]
SUITE = ["fgsm_linf_0.2", "pgd10_linf_0.2"]


def _result(blessed=True, **record):
    """The result a metrics.json of these metrics records."""
    record = {"metrics": METRICS, "rules": RULES, "blessed": blessed, "suite": SUITE, **record}
    return EvaluationResult.from_dict(record)


def _samples(rng):
    images = rng.uniform(0, 1, size=(4, 12, 12, 1)).astype(np.float32)
    return ReportSamples(
        attack_name="fgsm_linf_0.2",
        class_names=["0", "1"],
        images=images,
        adversarial=np.clip(images + 0.2, 0, 1),
        labels=np.array([0, 1, 0, 1]),
        candidate_clean=np.array([0, 1, 0, 1]),
        candidate_adversarial=np.array([0, 0, 0, 1]),
        baseline_clean=np.array([0, 1, 1, 1]),
        baseline_adversarial=np.array([1, 0, 1, 0]),
        activations_clean={"conv1": rng.uniform(size=(4, 10, 10, 3))},
        activations_adversarial={"conv1": rng.uniform(size=(4, 10, 10, 3))},
    )


def test_curves_start_at_clean_accuracy_and_group_by_family():
    curves = report_plots.curve_points(Figures.of(METRICS["candidate"]))
    assert sorted(curves) == ["apgdce20_linf", "fgsm_linf", "pgd10_linf"]
    epsilons, accuracies = zip(*curves["fgsm_linf"], strict=True)
    assert epsilons == (0.0, 0.1, 0.2)
    assert accuracies == pytest.approx((0.97, 0.91, 0.85))


def test_metrics_table_compares_candidate_and_baseline():
    rows = metrics_rows(_result())
    assert rows[0] == ["clean accuracy", 0.97, 0.96, "+0.0100"]
    fgsm = next(r for r in rows if r[0] == "fgsm_linf_0.2: robust accuracy")
    assert fgsm == ["fgsm_linf_0.2: robust accuracy", 0.85, 0.45, "+0.4000"]


def test_report_writes_html_and_plots(tmp_path, rng):
    paired = {
        "worst": {
            "change": -0.01,
            "change_interval": [-0.03, 0.01],
            "baseline_only": 14,
            "candidate_only": 4,
            "p_value": 0.031,
        }
    }
    advice = ["clean accuracy 0.9700 has a 95% interval that contains its floor"]
    result = _result(paired_tests=paired, advice=advice)
    path = robustness_report.render_report(str(tmp_path), result, _samples(rng))
    text = open(path).read()
    assert "<td>worst case</td><td>0.3600</td><td>0.3400-0.3800</td>" in text
    assert "<td>worst</td><td>-0.0100</td><td>-0.0300 to +0.0100</td><td>14 / 4</td>" in text
    assert "contains its floor" in text
    for name in (
        robustness_report.CURVES_FILE,
        robustness_report.GRID_FILE,
        robustness_report.ACTIVATIONS_FILE,
    ):
        assert os.path.getsize(tmp_path / name) > 5000
    assert text.count("data:image/png;base64,") == 3
    assert BLESSED_VERDICT in text and "pgd10_linf_0.2: robust accuracy" in text
    assert "src='/" not in text and "src='http" not in text  # self-contained


def _chromium():
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


@pytest.mark.skipif(
    not _chromium() and not os.environ.get("ROBUSTFX_REQUIRE_CHROMIUM"),
    reason="Debian's chromium is not installed (scripts/test installs it)",
)
def test_report_renders_in_headless_chromium(tmp_path, rng):
    from PIL import Image

    path = robustness_report.render_report(str(tmp_path), _result(False), _samples(rng))
    chromium = _chromium()
    assert chromium, "chromium is required here but not installed"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2400", f"file://{path}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.std() > 10, "screenshot is blank"
    assert (pixels < 128).mean() > 0.01, "almost nothing dark was drawn"
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", f"file://{path}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "NOT BLESSED" in dom and "clean accuracy" in dom and "0.9700" in dom


def test_a_refused_model_is_never_reported_blessed(tmp_path):
    text = open(robustness_report.render_report(str(tmp_path), _result(False))).read()
    assert '<div class="verdict not-blessed">NOT BLESSED</div>' in text
    assert 'class="verdict blessed"' not in text
