"""`robustfx gate` deciding early (its default) against `--full`: the same blessing on clear
cases, stopped after the first round; a close call judged on every example as `--full` judges
it; the rounds' records in the JSON, the Markdown and the model card.

The FGSM attack and the corruptions are deterministic per example, so an example's outcome
is the same in any round and batch: the figures of every example judged in rounds equal
`--full`'s exactly."""

import json

import pytest

from robustfx.cli import commands
from robustfx.robustness.verdict.statistics import wilson_interval
from tests.helpers.gate_runs import run_gate, summary_of

FLOORS = (
    "--threshold",
    "worst_case=0.0",
    "--threshold",
    "corruption_mean=0.2",
    "--threshold",
    "corruption_worst=0",
)


def _gate(small_mnist, model_dir, directory, *flags):
    code, summary = run_gate(
        small_mnist[0], model_dir, directory, "--attack", "fgsm_linf_0.2",
        "--corruptions", "quick", *FLOORS, *flags,
    )  # fmt: skip
    return code, summary_of(summary)


@pytest.fixture(scope="module")
def full(small_mnist, trained_model_dir, tmp_path_factory):
    """The model judged on every example at once."""
    directory = tmp_path_factory.mktemp("full")
    return _gate(small_mnist, trained_model_dir, directory, "--threshold", "clean=0.5", "--full")


def _records(result):
    return {record["rule"]: record for record in result["decided_early"]["rules"]}


def test_a_clear_pass_stops_after_the_first_round_blessed_as_full_blesses_it(
    full, small_mnist, trained_model_dir, tmp_path, capsys
):
    full_code, full_result = full
    assert full_code == commands.EXIT_OK and "decided_early" not in full_result
    code, result = _gate(small_mnist, trained_model_dir, tmp_path, "--threshold", "clean=0.5")
    assert code == commands.EXIT_OK and result["passed"] is full_result["passed"] is True
    early = result["decided_early"]
    assert (early["stopped_after_round"], early["rounds"], early["examples"]) == (1, 2, 128)
    assert early["round_ends"] == [128, 200] and early["validity_examples"] == 128
    assert result["metrics"]["candidate"]["num_examples"] == 128
    records = _records(result)
    assert list(records) == [
        "min_clean_accuracy",
        "min_worst_case_accuracy",
        "min_corruption_mean",
        "min_corruption_worst",
        "min_certified_accuracy",  # IBP by default; its floor 0 is met at once
    ]
    for record in records.values():
        assert record["verdict"] == "pass" and record["decided_round"] == 1
        assert record["examples"] == 128 and record["bound"]
        low, high = record["interval"]
        assert low <= record["estimate"] <= high
    # The headline figure carries the interval valid at the stop, wider than the fixed-n one.
    clean = records["min_clean_accuracy"]
    assert result["metrics"]["candidate"]["clean_accuracy_interval"] == clean["interval"]
    wilson = wilson_interval(round(clean["estimate"] * 128), 128)
    assert clean["interval"][1] - clean["interval"][0] > wilson[1] - wilson[0]
    rules = {rule["rule"]: rule for rule in result["rules"]}
    assert "on 128 of 200 examples" in rules["min_clean_accuracy"]["message"]
    assert "proven at round 1 of 2" in rules["min_clean_accuracy"]["message"]
    printed = capsys.readouterr().out
    assert "decided after round 1 of 2 on 128 of 200 examples" in printed
    assert "### Decided early" in printed and "| min_clean_accuracy | 128 | 1 |" in printed
    card = (tmp_path / "gate" / "model_card.md").read_text()
    assert "## Decided early" in card and "| min_worst_case_accuracy | 128 | 1 |" in card
    card_json = json.loads((tmp_path / "gate" / "model_card.json").read_text())
    assert card_json["robustness_evaluation"]["decided_early"] == early


def test_a_clear_failure_stops_after_the_first_round_as_full_would_fail(
    full, small_mnist, trained_model_dir, tmp_path, capsys
):
    _, full_result = full
    assert full_result["clean_accuracy"] < 0.99  # --full fails it too
    code, result = _gate(small_mnist, trained_model_dir, tmp_path, "--threshold", "clean=0.99")
    assert code == commands.EXIT_FAILED and result["passed"] is False
    assert result["decided_early"]["stopped_after_round"] == 1
    assert result["decided_early"]["stopped_because"] == "min_clean_accuracy failed"
    clean = _records(result)["min_clean_accuracy"]
    assert clean["verdict"] == "fail" and clean["interval"][1] < 0.99
    assert "FAILED min_clean_accuracy" in capsys.readouterr().err


def test_a_close_call_is_judged_on_every_example_as_full_judges_it(
    full, small_mnist, trained_model_dir, tmp_path
):
    """The clean floor at the model's own clean accuracy: no bound on a sample can tell them
    apart, so the last round judges every example with --full's rule."""
    _, full_result = full
    floor = full_result["clean_accuracy"]
    code, result = _gate(
        small_mnist, trained_model_dir, tmp_path, "--threshold", f"clean={floor!r}"
    )
    assert code == commands.EXIT_OK and result["passed"] is True  # --full: value >= floor
    early = result["decided_early"]
    assert early["stopped_after_round"] == early["rounds"] == 2 and early["examples"] == 200
    clean = _records(result)["min_clean_accuracy"]
    assert clean["decided_round"] == 2 and clean["examples"] == 200
    message = {rule["rule"]: rule["message"] for rule in result["rules"]}["min_clean_accuracy"]
    assert "judged on all 200 examples as --full judges it" in message
    # Every example judged, in two rounds: --full's figures, example for example.
    for figure in ("clean_accuracy", "worst_case_robust_accuracy", "corruption_mean"):
        assert result[figure] == pytest.approx(full_result[figure], abs=1e-12), figure
    assert result["corruption_accuracy"] == full_result["corruption_accuracy"]
    assert result["robust_accuracy"] == full_result["robust_accuracy"]


@pytest.mark.parametrize(
    "drops, rounds",
    [((), 2), (("--max-clean-drop", "0.2", "--max-robust-drop", "0.2"), 1)],
    ids=["default-drops-settled-on-every-example", "large-drops-proven-in-round-1"],
)
def test_the_change_rules_are_judged_on_the_paired_examples_of_each_round(
    small_mnist, trained_model_dir, tmp_path, drops, rounds
):
    """The model against itself as the baseline: every paired change is 0. A drop of 1 or 2
    points cannot be bounded on 128 examples, so those rules are judged on every example by
    --full's paired test; a drop of 20 points is ruled out after the first round."""
    code, result = _gate(
        small_mnist,
        trained_model_dir,
        tmp_path,
        "--threshold",
        "clean=0.5",
        "--max-corruption-drop",
        "0.2",
        "--baseline",
        trained_model_dir,
        *drops,
    )
    assert code == commands.EXIT_OK and result["decided_early"]["stopped_after_round"] == rounds
    records = _records(result)
    examples = result["decided_early"]["examples"]
    assert records["max_corruption_drop"]["decided_round"] == 1
    for rule in ("max_clean_drop", "max_robust_drop", "max_corruption_drop"):
        assert records[rule]["verdict"] == "pass" and records[rule]["estimate"] == 0
        assert (
            records[rule]["decided_round"] in (1, rounds)
            and "paired change" in (records[rule]["bound"])
        )
    assert records["max_clean_drop"]["decided_round"] == rounds
    assert result["paired_tests"]["clean"]["examples"] == examples == (128, 200)[rounds - 1]
    assert result["metrics"]["baseline"]["num_examples"] == examples
