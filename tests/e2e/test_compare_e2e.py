"""`robustfx compare` on a slice of real digits. (The beans preset runs end to end in
``test_real_size_images_e2e``.)"""

import json
import os

import pytest

from robustfx.cli import main as cli
from tests.helpers.datasets import write_small_mnist

# Four models trained and judged in one run: half the shared run's digits keep it short.
TRAIN, TEST = 400, 100


@pytest.fixture(scope="module")
def half_mnist(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("half_mnist"))
    return data_dir, write_small_mnist(data_dir, train=TRAIN, test=TEST)


def _main(command, preset, data_dir, tmp_path, *flags):
    """One epoch, thresholds at zero: these tests check the plumbing, not the accuracy."""
    return cli.main(
        [command, "--preset", preset, "--data-dir", data_dir, "--epochs", "1",
         "--pipeline-root", str(tmp_path / "root"), "--serving-dir", str(tmp_path / "serving"),
         "--threshold", "clean=0", "--threshold", "worst_case=0",
         "--threshold", "corruption_mean=0", "--threshold", "corruption_worst=0", *flags]
    )  # fmt: skip


def test_mnist_comparison_table_has_every_model_and_column(half_mnist, tmp_path, capsys):
    data_dir, _ = half_mnist
    summary_path = tmp_path / "compare.json"
    code = _main(
        "compare", "mnist", data_dir, tmp_path,
        "--output-dir", str(tmp_path / "out"), "--summary-json", str(summary_path),
        # No example grids: the shared run's report shows them (test_pipeline_e2e).
        "--epsilon-sweep", "0.5", "--report-examples", "0",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(summary_path.read_text())
    assert set(summary["models"]) == {
        "baseline", "adversarial", "pgd_adversarial", "certified_ibp",
    }  # fmt: skip
    for row in summary["models"].values():
        assert set(row) == {
            "clean_accuracy",
            "robust_accuracy",
            "worst_case_robust_accuracy",
            "certified_accuracy",
            "bracket",
            "transfer_accuracy",
            "corruption_accuracy",
            "corruption_mean",
            "corruption_worst",
            "report",
        }
        # The quick corruption set (run's default): six corruptions on digits.
        assert len(row["corruption_accuracy"]) == 6
        assert row["corruption_worst"] == min(row["corruption_accuracy"].values())
        assert set(row["robust_accuracy"]) == {
            "fgsm_linf_0.2",
            "apgdce20_linf_0.2",
            "apgdt20-t3_linf_0.2",
            "square300_linf_0.2",
        }
        assert row["worst_case_robust_accuracy"] <= min(row["robust_accuracy"].values())
        # The bracket: proven by IBP (the default verifier) at the threat model.
        assert 0.0 <= row["certified_accuracy"] <= row["worst_case_robust_accuracy"]
        assert row["bracket"].startswith(f"{row['certified_accuracy']:.4f} certified <= ")
        assert os.path.isfile(row["report"])
        assert 0.0 <= row["transfer_accuracy"] <= 1.0
    baseline = summary["models"]["baseline"]
    # White-box on the baseline and the write-ups' protocol (crafted against the baseline)
    # are the same attack on the baseline: FGSM L-inf 0.2.
    assert baseline["transfer_accuracy"] == baseline["robust_accuracy"]["fgsm_linf_0.2"]
    for name in ("comparison.md", "comparison.png", "comparison.json"):
        assert (tmp_path / "out" / name).stat().st_size > 200
    table = capsys.readouterr().out
    assert "| baseline |" in table and "| pgd_adversarial |" in table
    assert "| certified_ibp |" in table and "| **worst case** | certified |" in table
    assert "write-ups' protocol (nsl_linf_0.2 vs baseline)" in table
    assert "### Natural corruptions" in table
    assert "| model | **mean** | **worst** | brightness |" in table  # metrics.json's key order
