"""The RobustnessEvaluator executor against a production baseline on the same examples: the
change rules with their paired tests, a baseline that cannot be evaluated, and a baseline that
is the candidate itself."""

import json
import os
import shutil

import numpy as np
import pytest

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.components.robustness_evaluator import spec
from tests.helpers.evaluator_runs import metrics_json, model_artifact, run_evaluator
from tests.helpers.evaluator_runs import transformed_examples as examples_artifact
from tests.helpers.models import save_for_evaluation, train_small_cnn

SUITE = (AttackConfig.from_name("pgd5_linf_0.2"),)


@pytest.fixture(scope="module")
def transformed_examples(tmp_path_factory, mnist_arrays):
    """Transformed examples as Transform writes them: gzipped tfrecords per split."""
    images, labels = mnist_arrays["test"]
    return examples_artifact(tmp_path_factory.mktemp("examples"), images[:150], labels[:150])


def test_baseline_regression_is_not_blessed(
    tmp_path, transformed_examples, trained_model_dir, untrained_model_dir
):
    # An untrained candidate against the trained baseline, on the same examples and attack.
    config = EvaluationConfig(
        attacks=SUITE[:1],
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.0,
            min_worst_case_accuracy=0.0,
            min_robust_accuracy={"fgsm_linf_0.2": 0.0},
        ),
        epsilon_sweep=(),
        report_examples=0,
        corruptions="none",
    )
    candidate, baseline = (
        model_artifact(untrained_model_dir, 9),
        model_artifact(trained_model_dir, 3),
    )
    evaluation, blessing = run_evaluator(
        tmp_path, transformed_examples, candidate, config, baseline=baseline, tfma_blessed=True
    )
    assert blessing.get_int_custom_property("blessed") == 0
    assert blessing.get_int_custom_property("baseline_model_id") == 3
    assert blessing.get_int_custom_property("robustness_blessed") == 0
    rules = json.loads(open(os.path.join(blessing.uri, spec.NOT_BLESSED_FILE)).read())
    failed = {rule["rule"] for rule in rules if not rule["passed"]}
    assert "max_clean_drop" in failed
    reasons = blessing.get_string_custom_property("reasons")
    assert "clean accuracy" in reasons and "vs baseline" in reasons and "FAILS, over by" in reasons
    assert evaluation.get_float_custom_property("baseline_clean_accuracy") > 0.6


def _change_rules(tmp_path, examples, candidate_dir, baseline_dir, corruptions="none"):
    # A small epsilon: these small CNNs are not trained to be robust, and at 0.1 two seeds
    # already differ in robustness for real, not by noise.
    config = EvaluationConfig(
        epsilon=0.03,
        attacks=(AttackConfig.from_name("apgdce10_linf_0.03"),),
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.0,
            min_worst_case_accuracy=0.0,
            min_robust_accuracy={},
            max_clean_drop=0.01,
            max_robust_drop=0.02,
            min_corruption_mean=0.0,
            min_corruption_worst=0.0,
        ),
        epsilon_sweep=(),
        report_examples=0,
        corruptions=corruptions,
    )
    evaluation, _ = run_evaluator(
        tmp_path,
        examples,
        model_artifact(candidate_dir, 2),
        config,
        baseline=model_artifact(baseline_dir, 1),
    )
    result = metrics_json(evaluation)
    rules = {rule["rule"]: rule for rule in result["rules"]}
    return rules, result


def test_a_retrain_with_another_seed_is_not_refused_by_the_change_rules(
    tmp_path, transformed_examples, trained_model_dir
):
    retrained = save_for_evaluation(train_small_cnn(3), tmp_path / "retrained")
    rules, result = _change_rules(
        tmp_path, transformed_examples, retrained, trained_model_dir, corruptions="quick"
    )
    clean, worst, tests = rules["max_clean_drop"], rules["max_robust_drop"], result["paired_tests"]
    assert clean["passed"] and worst["passed"], (clean["message"], worst["message"])
    assert tests["clean"]["examples"] == 150 and tests["worst"]["p_value"] > 0.05
    # The corruptions, paired on the same corrupted examples, and their error against it.
    # (Two seeds of these small CNNs differ under corruption for real: the rule decides.)
    corruption, test = rules["max_corruption_drop"], tests["corruption_mean"]
    candidate, baseline = (result["metrics"][role] for role in ("candidate", "baseline"))
    drop = baseline["corruption_mean"] - candidate["corruption_mean"]
    assert corruption["passed"] is (drop <= 0.02 or test["p_value"] >= 0.05)
    assert "McNemar p=" in corruption["message"]
    assert test["change"] == pytest.approx(-drop)
    comparison = result["corruption_comparison"]
    assert tests["corruption_mean"] == comparison["tests"]["mean"]
    assert set(comparison["tests"]) == {"mean", *candidate["corruption_by_name"]}
    ce = comparison["ce"]
    assert comparison["mce"] == pytest.approx(np.mean([v for v in ce.values() if v is not None]))
    assert (comparison["mce"] > 1) is (drop > 0) or abs(drop) < 0.02


def test_a_degraded_model_is_refused_with_a_significant_drop(
    tmp_path, transformed_examples, trained_model_dir
):
    model = train_small_cnn(1)
    rng = np.random.RandomState(0)
    model.set_weights([w * (rng.uniform(size=w.shape) < 0.5) for w in model.get_weights()])
    degraded = save_for_evaluation(model, tmp_path / "degraded")
    rules, result = _change_rules(tmp_path, transformed_examples, degraded, trained_model_dir)
    clean, tests = rules["max_clean_drop"], result["paired_tests"]
    assert not clean["passed"]
    assert tests["clean"]["change"] < -0.1 and tests["clean"]["p_value"] < 0.001
    assert "McNemar p=" in clean["message"] and "95% interval of the drop" in clean["message"]


@pytest.mark.parametrize("required", [False, True])
def test_a_baseline_that_cannot_be_evaluated_is_skipped_loudly(
    tmp_path, transformed_examples, trained_model_dir, required, caplog
):
    """A deleted or corrupt production model must not block every later run."""
    broken = tmp_path / "broken_baseline" / "Format-Serving"
    broken.mkdir(parents=True)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    config = EvaluationConfig(
        attacks=(AttackConfig.from_name("apgdce5_linf_0.1"),),
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.5, min_worst_case_accuracy=0.0, require_comparison=required
        ),
        epsilon_sweep=(),
        report_examples=0,
        corruptions="none",
    )
    baseline = model_artifact(str(tmp_path / "broken_baseline"), 5)
    evaluation, blessing = run_evaluator(
        tmp_path,
        transformed_examples,
        model_artifact(trained_model_dir, 6),
        config,
        baseline=baseline,
    )
    result = metrics_json(evaluation)
    assert "cannot be loaded" in result["baseline_skipped"]
    assert "baseline" not in result["metrics"]  # judged alone
    rule = next(r for r in result["rules"] if r["rule"] == "baseline_comparison")
    assert rule["passed"] is (not required)
    assert "SKIPPED" in rule["message"]
    assert blessing.get_int_custom_property("blessed") == int(not required), result["reasons"]
    assert "cannot be loaded" in blessing.get_string_custom_property("baseline_skipped")
    assert "COMPARISON WITH THE PRODUCTION BASELINE SKIPPED" in caplog.text


def test_a_baseline_that_is_the_candidate_itself_is_judged_alone(
    tmp_path, transformed_examples, trained_model_dir
):
    """Another artifact holding the same graph and weights (a retrain that changed nothing):
    no comparison of the model with itself, and the blessing says why."""
    copy = tmp_path / "copy"
    shutil.copytree(trained_model_dir, copy)
    config = EvaluationConfig(
        attacks=SUITE[:1],
        thresholds=ThresholdConfig(min_clean_accuracy=0.5, min_worst_case_accuracy=0.0),
        epsilon_sweep=(),
        report_examples=0,
        corruptions="none",
    )
    evaluation, blessing = run_evaluator(
        tmp_path,
        transformed_examples,
        model_artifact(trained_model_dir, 12),
        config,
        baseline=model_artifact(str(copy), 11),
    )
    result = metrics_json(evaluation)
    assert set(result["metrics"]) == {"candidate"} and result["paired_tests"] == {}
    assert not any(rule["rule"].startswith("max_") for rule in result["rules"])
    assert blessing.get_int_custom_property("baseline_is_candidate") == 1
    assert blessing.get_int_custom_property("baseline_model_id") == 11
    assert blessing.get_int_custom_property("blessed") == 1
    assert evaluation.get_string_custom_property("report").endswith("report.html")
