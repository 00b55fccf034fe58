"""The real pipeline, end to end, on a slice of the real MNIST digits.

The shared run (``first_run``) trains and pushes; the pushed SavedModel is then loaded in a
fresh process (without Keras) and classifies serialized test-split tf.Examples. Reruns go on
copies of the shared run's root (``rerun_of_first``), so no test depends on another having
run: a rerun with an unreachable robustness threshold reuses the cached components and must
push nothing and record why; an unchanged rerun judges the model against itself as
production and pushes nothing.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from ml_metadata.proto import metadata_store_pb2

from robustfx.cli import main as cli
from robustfx.components.robustness_evaluator import spec
from robustfx.pipeline.mlmd import node_outputs, open_store
from tests.helpers.datasets import shard_files
from tests.helpers.paths import REPO
from tests.helpers.pipeline_runs import PIPELINE_NAME, run_e2e

BLESSED_VERDICT = '<div class="verdict blessed">BLESSED</div>'
STRICT = ("--threshold", "fgsm_linf_0.2=0.999")


def rerun_of_first(first_run, small_mnist, copy_name, *flags):
    """`robustfx run` again with ``flags``, on a copy of the shared run's pipeline root and
    serving dir; returns (the copy's root, its summary)."""
    root, _, _ = first_run
    copy = root.parent / f"{root.name}-{copy_name}"
    shutil.rmtree(copy, ignore_errors=True)
    for name in ("pipeline_root", "serving"):
        shutil.copytree(root / name, copy / name)
    summary = copy / "summary.json"
    assert run_e2e(small_mnist[0], copy, copy / "serving", summary, *flags) == 0
    return copy, json.loads(summary.read_text())


@pytest.fixture(scope="module")
def strict_rerun(first_run, small_mnist):
    """The shared run's config again with an unreachable robustness threshold."""
    return rerun_of_first(first_run, small_mnist, "strict", *STRICT)


@pytest.fixture(scope="module")
def unchanged_rerun(first_run, small_mnist):
    """The shared run's config again, unchanged."""
    return rerun_of_first(first_run, small_mnist, "unchanged")


def test_run_blesses_and_pushes_a_versioned_model(first_run):
    root, _, summary = first_run
    assert summary["dataset"] == "mnist_5k"
    assert summary["blessed"] is True and summary["reasons"] == []
    assert summary["clean_accuracy"] > 0.6
    assert summary["suite"] == "quick" and summary["evaluation_valid"] is True
    quick = ["apgdce20_linf_0.2", "apgdt20-t3_linf_0.2", "square300_linf_0.2"]
    assert set(summary["robust_accuracy"]) == {"fgsm_linf_0.2", *quick}
    robust = summary["robust_accuracy"]
    # The cascade only lowers accuracy; the worst case is below every attack and FGSM.
    assert [robust[name] for name in quick] == sorted(
        (robust[name] for name in quick), reverse=True
    )
    assert summary["worst_case_robust_accuracy"] <= min(robust.values())
    assert robust["apgdce20_linf_0.2"] <= robust["fgsm_linf_0.2"] < summary["clean_accuracy"]
    report = open(summary["report"]).read()
    # Curves, corruption bars, the bracket, example grid, activations, one example under each
    # corruption.
    assert BLESSED_VERDICT in report and report.count("data:image/png;base64,") == 6
    assert "alt='bracket.png'" in report
    assert summary["corruption_set"] == "quick"
    assert summary["corruption_worst"] <= summary["corruption_mean"]
    assert set(summary["corruption_accuracy"]["fog"]) == {"2", "4"}
    pushed = summary["pushed_model"]
    assert os.path.dirname(pushed) == str(root / "serving")
    assert os.path.basename(pushed).isdigit()
    assert os.path.isfile(os.path.join(pushed, "saved_model.pb"))
    # The model card travels inside the version, written with it.
    card = json.load(open(os.path.join(pushed, "model_card.json")))
    assert card["model_details"]["version"]["name"] == os.path.basename(pushed)
    assert card["model_parameters"]["data"]["split_sizes"] == {"train": 800, "test": 200}
    assert card["model_parameters"]["training_recipe"]["adversarial"]["pgd_iterations"] == 3
    assert card["robustness_evaluation"]["suite"] == "quick"
    assert card["provenance"]["pipeline_name"] == PIPELINE_NAME
    assert card["provenance"]["pipeline_run_id"]
    assert "## Rules" in open(os.path.join(pushed, "model_card.md")).read()
    # The verdict for the KFP UI, as the local runner records it.
    store = open_store(str(root / "pipeline_root" / "metadata.sqlite"))
    (figures,) = node_outputs(store, PIPELINE_NAME, "RobustnessEvaluator", "metrics")
    assert figures.custom_properties["blessed"].double_value == 1.0
    (report_file,) = node_outputs(store, PIPELINE_NAME, "RobustnessEvaluator", "report")
    assert open(os.path.join(report_file.uri, "report.html")).read() == report


def test_the_console_shows_components_progress_and_the_summary_the_log_holds_the_rest(
    first_run,
):
    root, _, summary = first_run
    console = (root / "console.txt").read_text()
    lines = console.splitlines()
    assert len(lines) <= 40, console
    assert "\r" not in console and "\x1b" not in console  # not a terminal: plain lines
    log = lines[0].removeprefix("robustfx: full log in ")
    assert log.startswith(str(root / "pipeline_root" / "logs"))
    for component in ("ImportExampleGen", "Transform", "Trainer", "RobustnessEvaluator"):
        assert any(line.startswith(component) and line.endswith(" s") for line in lines)
    assert any(line.startswith("  training: 2/2 epochs") for line in lines)
    assert any(line.startswith("  attack suite: 200/200 examples") for line in lines)
    assert f"pushed model:     {summary['pushed_model']}" in lines
    text = open(log).read()
    assert "Component Trainer is running." in text and "absl" in text  # TFX's own logs
    assert "Component Trainer is running." not in console


_CLASSIFY = """
import json, sys
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
records = list(tf.data.TFRecordDataset(sys.argv[2:]))
labels = [int(tf.io.parse_single_example(
    r, {"label": tf.io.FixedLenFeature([], tf.int64)})["label"]) for r in records]
out = model.signatures["serving_default"](examples=tf.stack(records))
print(json.dumps({
    "accuracy": float(np.mean(out["classes"].numpy() == np.array(labels))),
    "prob_sums": out["probabilities"].numpy().sum(axis=1).tolist(),
    "keras_loaded": "tf_keras" in sys.modules or "keras" in sys.modules,
    "signatures": sorted(model.signatures),
}))
"""


def test_pushed_model_classifies_raw_examples_in_a_fresh_process(first_run):
    _, info, summary = first_run
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    completed = subprocess.run(
        [sys.executable, "-c", _CLASSIFY, summary["pushed_model"], *shard_files(info, "test")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["accuracy"] > 0.6  # chance is 0.1
    assert result["prob_sums"] == pytest.approx([1.0] * 200, abs=1e-4)
    assert result["signatures"] == ["conv_activations", "serving_default", "serving_transformed"]


def _independent_pgd():
    """benchmarks/independent_pgd.py: a 100-step PGD written apart from the project."""
    path = REPO / "benchmarks" / "independent_pgd.py"
    module_spec = importlib.util.spec_from_file_location("independent_pgd", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_reported_worst_case_is_no_higher_than_an_independent_pgd100(first_run, small_mnist):
    """A robust accuracy is an upper bound: the project's must not exceed a separately
    written 100-step PGD's on the same model and examples."""
    _, _, summary = first_run
    independent = _independent_pgd()
    images, labels = independent.read_split(small_mnist[0], "mnist_5k", "test")
    logits_fn = independent.load_logits_fn(summary["pushed_model"])
    pgd100 = independent.pgd_accuracy(logits_fn, images, labels, epsilon=0.2, steps=100)
    assert summary["worst_case_robust_accuracy"] <= pgd100


def test_unreachable_threshold_pushes_nothing_and_records_why(first_run, strict_rerun):
    root, summary = strict_rerun
    assert summary["blessed"] is False
    assert summary["pushed_model"] is None
    assert any("min" in r and "fgsm_linf_0.2" in r and "0.9990" in r for r in summary["reasons"])
    # Only the shared run's version serves.
    assert os.listdir(root / "serving") == os.listdir(first_run[0] / "serving")

    store = open_store(str(root / "pipeline_root" / "metadata.sqlite"))
    (blessing,) = node_outputs(store, PIPELINE_NAME, "RobustnessEvaluator", "blessing")
    assert blessing.custom_properties["blessed"].int_value == 0
    assert os.path.isfile(os.path.join(blessing.uri, spec.NOT_BLESSED_FILE))
    # Production (the shared run's pushed version, the same model) is named as the baseline.
    first_model = first_run[2]["pushed_model"]
    assert blessing.custom_properties["baseline_serving_uri"].string_value.endswith(
        os.path.basename(first_model)
    )
    assert "baseline_model_id" in blessing.custom_properties
    (pushed,) = node_outputs(store, PIPELINE_NAME, "Pusher", "pushed_model")
    assert pushed.custom_properties["pushed"].int_value == 0
    # Trainer came from the cache: the second run trained nothing.
    trainer_runs = store.get_executions_by_context(
        store.get_context_by_type_and_name("node", f"{PIPELINE_NAME}.Trainer").id
    )
    states = sorted(e.last_known_state for e in trainer_runs)
    assert states == [metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED]


def test_gate_finds_the_latest_blessed_model_in_ml_metadata(first_run, small_mnist, capsys):
    root, _, summary = first_run
    data_dir, _ = small_mnist
    code = cli.main(
        [
            "gate",
            "--pipeline-root",
            str(root / "pipeline_root"),
            "--data-dir",
            data_dir,
            "--attack",
            "fgsm_linf_0.2",
            "--threshold",
            "clean=0.5",
            "--threshold",
            "fgsm_linf_0.2=0.01",
            "--threshold",
            "worst_case=0.0",
            "--corruptions",  # the full set, the gate's default, is judged by .ci/run
            "none",
            "--output-dir",
            str(root / "gate"),
            "--full",  # every example, as the pipeline judged them
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    # The blessed model is the Trainer's output that was pushed.
    model_line = next(line for line in printed.splitlines() if line.startswith("- candidate:"))
    assert "/Trainer/model/" in model_line and model_line.endswith("Format-Serving`")
    assert f"{summary['clean_accuracy']:.4f}" in printed


def test_history_lists_the_runs_newest_first(first_run, strict_rerun, capsys):
    _, _, summary = first_run
    root, _ = strict_rerun
    code = cli.main(["history", "--pipeline-root", str(root / "pipeline_root"), "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and rows[0]["time"] >= rows[-1]["time"]
    first = rows[-1]
    assert first["blessed"] is True and first["reason"] == ""
    assert first["pushed_version"] == os.path.basename(summary["pushed_model"])
    assert first["clean_accuracy"] == summary["clean_accuracy"]
    low, high = first["worst_case_interval"]
    assert low <= summary["worst_case_robust_accuracy"] <= high
    strict = rows[0]
    assert not strict["blessed"] and "fgsm_linf_0.2" in strict["reason"]
    assert strict["pushed_version"] is None


def test_an_unchanged_rerun_pushes_nothing_and_says_why(first_run, unchanged_rerun):
    """Two runs in a row with nothing changed push once: the candidate is the production
    model, judged alone (not against itself), and already serving."""
    _, _, summary = first_run
    root, rerun = unchanged_rerun
    assert rerun["blessed"] is True and rerun["pushed_model"] is None
    version = os.path.basename(summary["pushed_model"])
    assert rerun["push_skipped"].startswith(f"identical to serving version {version}")
    assert os.listdir(root / "serving") == [version]
    assert rerun["paired_tests"] == {}  # no evaluation against itself
    store = open_store(str(root / "pipeline_root" / "metadata.sqlite"))
    (blessing,) = node_outputs(store, PIPELINE_NAME, "RobustnessEvaluator", "blessing")
    assert blessing.custom_properties["baseline_is_candidate"].int_value == 1
    (production,) = node_outputs(store, PIPELINE_NAME, "ProductionModel", "production")
    assert production.custom_properties["serving_version"].string_value == version
    assert production.custom_properties["found"].int_value == 1
