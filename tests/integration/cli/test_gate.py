"""`robustfx gate`: exit codes, baseline regressions, Markdown and JSON outputs."""

import json
import os

import pytest

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.cli.main import build_parser


def _gate(small_mnist, tmp_path, *flags):
    data_dir, _ = small_mnist
    return cli.main(
        [
            "gate",
            "--data-dir",
            data_dir,
            "--output-dir",
            str(tmp_path / "gate"),
            "--attack",
            "fgsm_linf_0.2",
            "--eval-batch-size",
            "100",
            "--corruptions",  # tests about corruptions give their own set
            "none",
            *flags,
        ]
    )


def test_pass_exits_0_and_writes_markdown_and_json(
    small_mnist, trained_model_dir, tmp_path, monkeypatch, capsys
):
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    out = tmp_path / "gate.json"
    code = _gate(
        small_mnist,
        tmp_path,
        "--model",
        trained_model_dir,
        "--threshold",
        "clean=0.6",
        "--threshold",
        "fgsm_linf_0.2=0.0",
        "--threshold",
        "worst_case=0.0",
        "--corruptions",
        "quick",
        "--threshold",
        "corruption_mean=0.2",
        "--threshold",
        "corruption_worst=0",
        "--summary-json",
        str(out),
        "--full",  # every example, as the pipeline judges them (test_gate_decide_early)
    )
    assert code == commands.EXIT_OK
    result = json.loads(out.read_text())
    assert result["passed"] is True
    assert "decided_early" not in result
    # The corruptions' keys, and their rows in the Markdown verdict.
    assert set(result["corruption_accuracy"]["rotate"]) == {"2", "4"}
    assert result["corruption_worst"] <= result["corruption_mean"] <= 1
    assert result["model"].endswith("Format-Serving")
    assert result["metrics"]["candidate"]["num_examples"] == 200
    assert set(result["robust_accuracy"]) == {"fgsm_linf_0.2"}  # --attack replaced the suite
    assert result["robust_accuracy"]["fgsm_linf_0.2"] < result["clean_accuracy"]
    assert result["worst_case_robust_accuracy"] <= result["robust_accuracy"]["fgsm_linf_0.2"]
    # The project's own export passes the graph check with no --allow-op.
    assert result["graph_checks"]["candidate"]["allowed_by_flag"] == []
    printed = capsys.readouterr().out
    assert "## Robustness gate: ✅ PASS" in printed
    assert "| min_robust_accuracy[fgsm_linf_0.2] |" in printed
    assert (
        "| **corruptions, mean** (quick set) |" in printed and "| min_corruption_worst |" in printed
    )
    summary = step_summary.read_text()
    assert summary.startswith("earlier step\n") and "Robustness gate" in summary
    # Recorded as the pipeline records it: metrics.json, the report, the model card.
    assert result["report"] == str(tmp_path / "gate" / "report.html")
    report = (tmp_path / "gate" / "report.html").read_text()
    assert (
        '<div class="verdict blessed">BLESSED</div>' in report and "Natural corruptions" in report
    )
    card = json.loads((tmp_path / "gate" / "model_card.json").read_text())
    assert result["model_card"] == str(tmp_path / "gate" / "model_card.json")
    assert card["robustness_evaluation"]["rules"] == result["rules"]
    assert card["model_parameters"]["data"]["eval"]["name"].endswith(" test")
    metrics = {
        (m["type"], m["slice"]): m["value"]
        for m in card["quantitative_analysis"]["performance_metrics"]
    }
    assert metrics[("corruption_worst", "")] == result["corruption_worst"]
    assert (
        metrics[("robust_accuracy[fgsm_linf_0.2]", "")]
        == result["robust_accuracy"]["fgsm_linf_0.2"]
    )
    assert json.loads((tmp_path / "gate" / "metrics.json").read_text())["rules"] == result["rules"]
    assert f"- report: `{result['report']}`" in printed


def test_the_bracket_certified_at_most_the_worst_case(
    small_mnist, trained_model_dir, tmp_path, capsys
):
    """CROWN at a small radius certifies most digits of a plainly trained CNN; every one it
    certifies survived the attacks, at the threat model and at the sweep's radius."""
    out = tmp_path / "gate.json"
    code = cli.main(
        ["gate", "--data-dir", small_mnist[0], "--output-dir", str(tmp_path / "gate"),
         "--model", trained_model_dir, "--attack", "pgd20-rs_linf_0.01", "--corruptions", "none",
         "--verify", "crown", "--epsilon-sweep", "0.5", "--threshold", "clean=0.5",
         "--threshold", "worst_case=0", "--threshold", "certified=0.3", "--full",
         "--summary-json", str(out)]
    )  # fmt: skip
    assert code == commands.EXIT_OK
    result = json.loads(out.read_text())
    record = result["metrics"]["candidate"]
    assert 0.3 <= result["certified_accuracy"] <= result["worst_case_robust_accuracy"]
    assert record["certified_broken"] == 0
    assert record["certified_by_radius"]["0.01"] == result["certified_accuracy"]
    assert record["certified_by_radius"]["0.005"] >= result["certified_accuracy"]
    assert result["certification"] == {
        "method": "crown", "norm": "linf", "epsilon": 0.01, "uncertifiable": {},
    }  # fmt: skip
    rules = {rule["rule"]: rule for rule in result["rules"]}
    assert rules["min_certified_accuracy"]["passed"] and rules["validity:certificates_hold"]
    printed = capsys.readouterr().out
    assert "- bracket: " in printed and "worst case (CROWN at linf 0.01;" in printed
    report = (tmp_path / "gate" / "report.html").read_text()
    assert "The bracket: certified (CROWN" in report and "<th>certified</th>" in report
    card = json.loads((tmp_path / "gate" / "model_card.json").read_text())
    types = {m["type"] for m in card["quantitative_analysis"]["performance_metrics"]}
    assert "certified_accuracy" in types


def test_fail_exits_1_and_lists_every_failed_rule(small_mnist, trained_model_dir, tmp_path, capsys):
    code = _gate(
        small_mnist,
        tmp_path,
        "--model",
        trained_model_dir,
        "--threshold",
        "clean=0.999",
        "--threshold",
        "fgsm_linf_0.2=0.99",
        "--verify",
        "none",
    )
    assert code == commands.EXIT_FAILED
    err = capsys.readouterr().err
    assert "FAILED min_clean_accuracy:" in err and "vs threshold 0.9990" in err
    assert "FAILED min_robust_accuracy[fgsm_linf_0.2]:" in err and "vs threshold 0.9900" in err
    summary = json.loads((tmp_path / "gate" / "metrics.json").read_text())
    assert summary["certification"]["method"] == "none"  # --verify none: no certified figure
    assert "certified_accuracy" not in summary["metrics"]["candidate"]


def test_baseline_regression_is_caught_by_the_change_threshold(
    small_mnist, trained_model_dir, untrained_model_dir, tmp_path, capsys
):
    out = tmp_path / "gate.json"
    code = _gate(
        small_mnist,
        tmp_path,
        "--model",
        untrained_model_dir,
        "--baseline",
        trained_model_dir,
        "--threshold",
        "clean=0",
        "--threshold",
        "fgsm_linf_0.2=0",
        "--summary-json",
        str(out),
    )
    assert code == commands.EXIT_FAILED
    failed = {rule["rule"] for rule in json.loads(out.read_text())["rules"] if not rule["passed"]}
    assert "max_clean_drop" in failed
    assert "FAILED max_clean_drop:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model", "/nonexistent/model"], "is not a SavedModel directory"),
        (["--model", "x", "--pipeline-root", "y"], "exactly one of --model"),
        ([], "exactly one of --model"),
        (["--pipeline-root", "/nonexistent/root"], "has no metadata.sqlite"),
        (["--model", "{model}", "--threshold", "clean"], "is not NAME=VALUE"),
        (["--model", "{model}", "--threshold", "clean=1.5"], "min_clean_accuracy=1.5"),
        (["--model", "{model}", "--threshold", "corruption_mean=1.5"], "min_corruption_mean=1.5"),
        (["--model", "{model}", "--threshold", "pgd0_linf_0.1=0.5"], "steps=0"),
        (["--model", "{model}", "--dataset", "beans"], "tfds build beans"),
        (["--model", "{model}", "--eval-split", "validation"], "split 'validation' is not in"),
    ],
)
def test_usage_model_and_data_errors_exit_2(
    small_mnist, trained_model_dir, tmp_path, capsys, flags, message
):
    flags = [flag.replace("{model}", trained_model_dir) for flag in flags]
    assert _gate(small_mnist, tmp_path, *flags) == commands.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_model_without_the_attack_signature_exits_2(small_mnist, tmp_path, capsys):
    import tensorflow as tf

    module = tf.Module()
    module.f = tf.function(lambda x: x, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "m"), signatures={"other": module.f})
    assert _gate(small_mnist, tmp_path, "--model", str(tmp_path / "m")) == commands.EXIT_USAGE
    assert "no 'serving_transformed' signature" in capsys.readouterr().err


def test_a_corrupt_savedmodel_is_a_model_error_exit_2_not_a_failed_gate(
    small_mnist, trained_model_dir, tmp_path, capsys
):
    """Its graph parses (the signature check passes); its variables do not: the failure
    comes from inside TensorFlow, in a Beam worker."""
    import shutil

    corrupt = tmp_path / "corrupt"
    shutil.copytree(os.path.join(trained_model_dir, "Format-Serving"), corrupt)
    for name in os.listdir(corrupt / "variables"):
        (corrupt / "variables" / name).write_bytes(b"\x00garbage")
    assert _gate(small_mnist, tmp_path, "--model", str(corrupt)) == commands.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("robustfx: model error: evaluating") and str(corrupt) in err


def test_thresholds_add_their_attacks_and_keep_the_suites_floors():
    args = build_parser().parse_args(
        [
            "gate",
            "--suite",
            "standard",
            "--threshold",
            "clean=0.95",
            "--threshold",
            "pgd20_l2_1.5=0.3",
        ]
    )
    config = commands.gate_config(args).evaluation
    assert [a.name for a in config.cascade()] == [
        "apgdce100_linf_0.2",
        "apgdt100-t9_linf_0.2",
        "square5000_linf_0.2",
    ]
    assert [a.name for a in config.references()] == ["fgsm_linf_0.2", "pgd20_l2_1.5"]
    assert config.thresholds.min_clean_accuracy == 0.95
    assert config.thresholds.min_worst_case_accuracy == 0.7  # the default floor stays
    assert config.thresholds.min_robust_accuracy == {"pgd20_l2_1.5": 0.3}


def test_corruption_set_and_floors_from_flags_gate_defaults_to_the_full_set():
    def parsed(*flags):
        return commands.gate_config(build_parser().parse_args(["gate", *flags])).evaluation

    assert parsed().corruptions == "full"  # a release judges every corruption
    config = parsed(
        "--corruptions",
        "quick",
        "--threshold",
        "corruption_mean=0.8",
        "--threshold",
        "corruption_worst=0.35",
        "--max-corruption-drop",
        "0.03",
    )
    assert config.corruptions == "quick"
    assert config.thresholds.min_corruption_mean == 0.8
    assert config.thresholds.min_corruption_worst == 0.35
    assert config.thresholds.max_corruption_drop == 0.03
    assert config.thresholds.min_robust_accuracy == {}  # not taken for attack names
    assert commands.run_config(build_parser().parse_args(["run"])).evaluation.corruptions == (
        "quick"
    )

    with pytest.raises(SystemExit):
        parsed("--corruptions", "most")
