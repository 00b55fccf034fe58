"""Real-size images in bounded memory: beans-format 500x500x3 JPEG photos through the whole
pipeline with the beans preset (blessed and pushed, the report naming the beans classes), the
run's peak resident memory measured in a subprocess; and a run that cannot fit refused before
anything runs."""

import json
import pathlib
import subprocess
import sys

import pytest

from robustfx.cli import main as cli
from robustfx.data.synthetic_beans import BEANS_CLASSES, write_synthetic_beans

# The bound for the full beans dataset (1,034 / 133 / 128 images) on this machine. The run's
# peak is set by the batches (28 photos a training batch, 16 an evaluation batch), not by the
# number of images, so two full training batches and one evaluation batch of each split show it.
PEAK_BOUND_GIB = 6.0
SPLITS = {"train": 56, "validation": 16, "test": 16}  # 88 images of 500x500x3
ATTACK = "apgdce5_linf_0.2"

MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def beans_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("beans")
    info = write_synthetic_beans(str(data_dir), SPLITS)
    assert info.image_shape == (500, 500, 3) and info.class_names == BEANS_CLASSES
    return str(data_dir)


def test_beans_at_real_image_size_runs_in_bounded_memory(beans_dir, tmp_path):
    summary = tmp_path / "summary.json"
    robustfx = [sys.executable, "-m", "robustfx.cli.main"]
    flags = [
        "run", "--preset", "beans", "--data-dir", beans_dir, "--epochs", "1",
        "--pipeline-root", str(tmp_path / "root"), "--serving-dir", str(tmp_path / "serving"),
        # APGD's buffers at full size; 5 steps, as the memory of each step is the same.
        "--attack", ATTACK, "--epsilon-sweep", "0.5", "--report-examples", "2",
        "--summary-json", str(summary), "--quiet",
        # Thresholds at zero: this test checks the plumbing and the memory, not the accuracy.
        "--threshold", "clean=0", "--threshold", "worst_case=0",
        "--threshold", "corruption_mean=0", "--threshold", "corruption_worst=0",
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *robustfx, *flags], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    peak_gib = int(done.stdout.split("PEAK_KIB")[-1].split()[0]) / 2**20
    assert peak_gib <= PEAK_BOUND_GIB, f"peak resident memory {peak_gib:.2f} GiB"
    result = json.loads(summary.read_text())
    assert result["dataset"] == "beans"
    assert 0.0 <= result["clean_accuracy"] <= 1.0
    assert ATTACK in result["robust_accuracy"]
    assert result["blessed"] is True
    assert (pathlib.Path(result["pushed_model"]) / "saved_model.pb").is_file()
    report = open(result["report"]).read()
    assert "angular_leaf_spot" in report and "bean_rust" in report
    history = next((tmp_path / "root" / "Trainer" / "model_run").glob("*/history.json"))
    assert json.loads(history.read_text())["resident_mib"], "per-epoch memory is recorded"


def test_a_run_that_cannot_fit_in_memory_is_refused_before_it_starts(beans_dir, tmp_path, capsys):
    code = cli.main(
        ["run", "--preset", "beans", "--data-dir", beans_dir, "--batch-size", "4096",
         "--pipeline-root", str(tmp_path / "root"), "--serving-dir", str(tmp_path / "serving")]
    )  # fmt: skip
    assert code == 2
    error = capsys.readouterr().err
    assert "GiB for training (--batch-size 4096)" in error and "use --batch-size" in error
    assert not (tmp_path / "root").exists()  # nothing was written
