"""The RobustnessEvaluator executor on hand-built artifacts: real SavedModels, real tfrecords,
a real Beam pipeline, and the ModelBlessing that the Pusher reads."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.base.serialization import to_dict
from robustfx.components.robustness_evaluator import executor, spec
from robustfx.robustness.models.saved_models import ModelSignatureError
from tests.helpers.datasets import write_transformed_examples
from tests.helpers.models import save_for_evaluation, train_small_cnn

BLESSED_VERDICT = '<div class="verdict blessed">BLESSED</div>'

CLASSES = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def transformed_examples(tmp_path_factory, mnist_arrays):
    """Transformed examples as Transform writes them: gzipped tfrecords per split."""
    images, labels = mnist_arrays["test"]
    uri = tmp_path_factory.mktemp("examples")
    os.makedirs(uri / "Split-test")
    write_transformed_examples(str(uri / "Split-test" / "data.gz"), images[:150], labels[:150])
    artifact = standard_artifacts.Examples()
    artifact.uri = str(uri)
    artifact.split_names = '["test"]'
    return artifact


def _model(uri, artifact_id):
    artifact = standard_artifacts.Model()
    artifact.uri = uri
    artifact.id = artifact_id
    return artifact


def _run(tmp_path, examples, model, config, baseline=None, tfma_blessed=None):
    evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
    evaluation.uri, blessing.uri = str(tmp_path / "evaluation"), str(tmp_path / "blessing")
    inputs = {spec.EXAMPLES_KEY: [examples], spec.MODEL_KEY: [model]}
    if baseline is not None:
        inputs[spec.BASELINE_MODEL_KEY] = [baseline]
    if tfma_blessed is not None:
        tfma = standard_artifacts.ModelBlessing()
        tfma.set_int_custom_property("blessed", int(tfma_blessed))
        inputs[spec.TFMA_BLESSING_KEY] = [tfma]
    executor.Executor().Do(
        inputs,
        {spec.EVALUATION_KEY: [evaluation], spec.BLESSING_KEY: [blessing]},
        {
            spec.EVALUATION_CONFIG_KEY: json.dumps(to_dict(config)),
            spec.CLASS_NAMES_KEY: json.dumps(CLASSES),
            spec.SEED_KEY: 0,
        },
    )
    return evaluation, blessing


SUITE = (AttackConfig.from_name("pgd5_linf_0.2"), AttackConfig.from_name("square50_linf_0.2"))


def test_blesses_and_records_everything(tmp_path, transformed_examples, trained_model_dir):
    config = EvaluationConfig(
        attacks=SUITE,
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.5,
            min_worst_case_accuracy=0.0,
            min_robust_accuracy={},
            min_corruption_mean=0.3,
            min_corruption_worst=0.0,
        ),
        epsilon_sweep=(0.0, 0.5),
        batch_size=64,
        report_examples=4,
        corruptions="quick",
    )
    model = _model(trained_model_dir, 7)
    evaluation, blessing = _run(tmp_path, transformed_examples, model, config, tfma_blessed=True)
    result = json.loads(open(os.path.join(evaluation.uri, spec.METRICS_FILE)).read())
    candidate = result["metrics"]["candidate"]
    assert candidate["num_examples"] == 150
    assert candidate["clean_accuracy"] > 0.6
    # The FGSM reference and the first gradient attack's epsilon sweep run on every example.
    attacks = candidate["attacks"]
    assert set(attacks) == {"fgsm_linf_0.2", "pgd5_linf_0", "pgd5_linf_0.1", "pgd5_linf_1"}
    assert [step["attack"] for step in candidate["cascade"]] == [a.name for a in SUITE]
    # epsilon = 0 is exactly clean accuracy; the ball holds; PGD is no weaker than FGSM.
    assert attacks["pgd5_linf_0"]["robust_accuracy"] == candidate["clean_accuracy"]
    assert all(
        a["max_perturbation_norm"] <= a_eps + 1e-6
        for a, a_eps in [(attacks["fgsm_linf_0.2"], 0.2), (attacks["pgd5_linf_0.1"], 0.1)]
    )
    pgd, square = candidate["cascade"]
    assert pgd["max_perturbation_norm"] <= 0.2 + 1e-6
    assert pgd["robust_accuracy"] <= attacks["fgsm_linf_0.2"]["robust_accuracy"] + 0.02
    # The worst case counts an example only if it survived every attack.
    assert candidate["worst_case_robust_accuracy"] <= square["robust_accuracy"]
    assert candidate["worst_case_robust_accuracy"] <= attacks["fgsm_linf_0.2"]["robust_accuracy"]
    assert result["evaluation_valid"] is True
    assert evaluation.get_int_custom_property("evaluation_valid") == 1
    # Every accuracy carries its 95% interval, in the metrics and in ML Metadata.
    low, high = candidate["worst_case_robust_accuracy_interval"]
    assert low < candidate["worst_case_robust_accuracy"] < high
    assert blessing.get_float_custom_property(
        "candidate_worst_case_robust_accuracy_low"
    ) == pytest.approx(low)
    # The model card beside the blessing, for the Pusher to ship.
    card = json.load(open(os.path.join(blessing.uri, "model_card.json")))
    metrics = {
        (m["type"], m["slice"]): m for m in card["quantitative_analysis"]["performance_metrics"]
    }
    worst = metrics[("worst_case_robust_accuracy", "")]
    assert worst["confidence_interval"] == {"lower_bound": low, "upper_bound": high}
    assert card["robustness_evaluation"]["evaluation_valid"] is True
    assert card["provenance"]["model_artifact_id"] == 7
    assert card["provenance"]["package_versions"]["tensorflow"].startswith("2.16")

    assert result["blessed"] is True
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("current_model_id") == 7
    assert blessing.get_int_custom_property("robustness_blessed") == 1
    assert blessing.get_string_custom_property("current_model") == trained_model_dir
    assert os.path.isfile(os.path.join(blessing.uri, spec.BLESSED_FILE))
    assert evaluation.get_float_custom_property("candidate_clean_accuracy") == pytest.approx(
        candidate["clean_accuracy"]
    )
    report = open(os.path.join(evaluation.uri, "report.html")).read()
    # Curves, corruption bars, example grid, activations, one example under each corruption.
    assert BLESSED_VERDICT in report and report.count("data:image/png") == 5
    assert "Natural corruptions" in report


def test_corruptions_are_judged_in_the_same_pass_exactly_as_applied_alone(
    tmp_path, transformed_examples, trained_model_dir
):
    """The quick set's accuracies equal each corruption applied by the library alone to the
    same images and classified by the same model; they feed the rules, the card and ML
    Metadata."""
    from robustfx.base.corruption_sets import resolve_corruption_set
    from robustfx.robustness.corruptions import registry
    from robustfx.robustness.models.saved_models import load_logits_fn
    from robustfx.robustness.presentation.report_samples import read_examples

    config = EvaluationConfig(
        attacks=SUITE[:1],
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.0,
            min_worst_case_accuracy=0.0,
            min_robust_accuracy={},
            min_corruption_mean=0.99,
            min_corruption_worst=0.0,
        ),
        epsilon_sweep=(),
        batch_size=64,
        report_examples=0,
        corruptions="quick",
    )
    evaluation, blessing = _run(
        tmp_path, transformed_examples, _model(trained_model_dir, 8), config
    )
    result = json.loads(open(os.path.join(evaluation.uri, spec.METRICS_FILE)).read())
    candidate = result["metrics"]["candidate"]
    resolved = resolve_corruption_set("quick", 1)
    assert result["corruption_set"] == "quick" and "contrast" in result["corruption_note"]
    assert {(n, int(s)) for n, by in candidate["corruption_accuracy"].items() for s in by} == set(
        resolved.runs
    )
    model_dir = os.path.join(trained_model_dir, "Format-Serving")
    logits_fn, shape = load_logits_fn(model_dir)
    images, labels = read_examples(
        os.path.join(transformed_examples.uri, "Split-test", "*"), 150, shape
    )
    for name, severity in (("rotate", 4), ("shot_noise", 2), ("fog", 4)):
        predicted = tf.argmax(logits_fn(registry.apply(name, images, severity)), axis=-1)
        alone = float(np.mean(predicted.numpy() == labels.numpy()))
        assert candidate["corruption_accuracy"][name][str(severity)] == pytest.approx(alone)
    by_name = candidate["corruption_by_name"]
    assert candidate["corruption_mean"] == pytest.approx(np.mean(list(by_name.values())))
    assert candidate["corruption_worst"] == min(by_name.values())
    rules = {rule["rule"]: rule for rule in result["rules"]}
    assert not rules["min_corruption_mean"].get("passed")  # the floor of 0.99 refuses it
    assert "min_corruption_worst" in rules and "max_corruption_drop" not in rules
    assert blessing.get_int_custom_property("blessed") == 0
    assert evaluation.get_float_custom_property("candidate_corruption_mean") == pytest.approx(
        candidate["corruption_mean"]
    )
    assert evaluation.get_string_custom_property("corruption_set") == "quick"
    card = json.load(open(os.path.join(blessing.uri, "model_card.json")))
    types = {m["type"] for m in card["quantitative_analysis"]["performance_metrics"]}
    assert {"corruption_mean", "corruption_accuracy[fog]"} <= types


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
    candidate, baseline = _model(untrained_model_dir, 9), _model(trained_model_dir, 3)
    evaluation, blessing = _run(
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


def test_model_without_attack_signature_is_a_clear_error(tmp_path, transformed_examples):
    module = tf.Module()
    module.f = tf.function(lambda x: x * 2, input_signature=[tf.TensorSpec([None], tf.float32)])
    uri = tmp_path / "model"
    tf.saved_model.save(module, str(uri / "Format-Serving"), signatures={"other": module.f})
    config = EvaluationConfig(
        attacks=SUITE[:1], thresholds=ThresholdConfig(min_robust_accuracy={}), corruptions="none"
    )
    with pytest.raises(ModelSignatureError, match="has no 'serving_transformed' signature"):
        _run(tmp_path, transformed_examples, _model(str(uri), 1), config)
    assert not os.path.exists(tmp_path / "blessing" / spec.BLESSED_FILE)


@pytest.fixture(scope="module")
def masked_model_dir(tmp_path_factory, trained_model_dir):
    """The trained CNN behind a rounding layer: its input gradient is zero almost everywhere,
    so gradient attacks see nothing while the model stays as breakable as before."""
    from robustfx.base import keys

    loaded = tf.saved_model.load(os.path.join(trained_model_dir, "Format-Serving"))
    inner = loaded.signatures[keys.TRANSFORMED_SIGNATURE]
    module = tf.Module()
    module.loaded = loaded

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    def serve(image):
        # CheckNumerics: stateful, so refused unless allowed (it only fails on NaN or Inf).
        return inner(**{keys.IMAGE_KEY: tf.round(tf.debugging.check_numerics(image, "pixels"))})

    uri = tmp_path_factory.mktemp("masked")
    tf.saved_model.save(
        module, str(uri / "Format-Serving"), signatures={keys.TRANSFORMED_SIGNATURE: serve}
    )
    return str(uri)


def test_a_model_that_masks_gradients_is_refused_as_an_invalid_evaluation(
    tmp_path, transformed_examples, masked_model_dir
):
    config = EvaluationConfig(
        attacks=(
            AttackConfig.from_name("apgdce10_linf_0.2"),
            AttackConfig.from_name("square300_linf_0.2"),
        ),
        thresholds=ThresholdConfig(
            min_clean_accuracy=0.0, min_worst_case_accuracy=0.0, min_robust_accuracy={}
        ),
        report_examples=0,
        corruptions="none",
        allowed_ops=("CheckNumerics",),
    )
    evaluation, blessing = _run(
        tmp_path, transformed_examples, _model(masked_model_dir, 4), config, tfma_blessed=True
    )
    result = json.loads(open(os.path.join(evaluation.uri, spec.METRICS_FILE)).read())
    failed = {check["rule"] for check in result["validity"] if not check["passed"]}
    assert result["evaluation_valid"] is False
    assert "validity:black_box_not_stronger" in failed
    assert blessing.get_int_custom_property("blessed") == 0
    assert evaluation.get_int_custom_property("evaluation_valid") == 0
    assert "black-box attacks broke" in blessing.get_string_custom_property("reasons")
    card = json.load(open(os.path.join(blessing.uri, "model_card.json")))
    checks = card["robustness_evaluation"]["graph_checks"]
    assert checks["candidate"]["allowed_by_flag"] == ["CheckNumerics"]  # recorded in the card


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
    evaluation, _ = _run(
        tmp_path, examples, _model(candidate_dir, 2), config, baseline=_model(baseline_dir, 1)
    )
    result = json.loads(open(os.path.join(evaluation.uri, spec.METRICS_FILE)).read())
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
    baseline = _model(str(tmp_path / "broken_baseline"), 5)
    evaluation, blessing = _run(
        tmp_path, transformed_examples, _model(trained_model_dir, 6), config, baseline=baseline
    )
    result = json.loads(open(os.path.join(evaluation.uri, spec.METRICS_FILE)).read())
    assert "cannot be loaded" in result["baseline_skipped"]
    assert "baseline" not in result["metrics"]  # judged alone
    rule = next(r for r in result["rules"] if r["rule"] == "baseline_comparison")
    assert rule["passed"] is (not required)
    assert "SKIPPED" in rule["message"]
    assert blessing.get_int_custom_property("blessed") == int(not required), result["reasons"]
    assert "cannot be loaded" in blessing.get_string_custom_property("baseline_skipped")
    assert "COMPARISON WITH THE PRODUCTION BASELINE SKIPPED" in caplog.text
