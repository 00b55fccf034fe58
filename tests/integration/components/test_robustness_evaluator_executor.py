"""The RobustnessEvaluator executor on hand-built artifacts: real SavedModels, real tfrecords,
a real Beam pipeline, and the ModelBlessing that the Pusher reads."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.components.robustness_evaluator import spec
from robustfx.robustness.models.saved_models import ModelSignatureError
from tests.helpers.evaluator_runs import metrics_json, model_artifact, run_evaluator
from tests.helpers.evaluator_runs import transformed_examples as examples_artifact

BLESSED_VERDICT = '<div class="verdict blessed">BLESSED</div>'


@pytest.fixture(scope="module")
def transformed_examples(tmp_path_factory, mnist_arrays):
    """Transformed examples as Transform writes them: gzipped tfrecords per split."""
    images, labels = mnist_arrays["test"]
    return examples_artifact(tmp_path_factory.mktemp("examples"), images[:150], labels[:150])


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
    model = model_artifact(trained_model_dir, 7)
    evaluation, blessing = run_evaluator(
        tmp_path, transformed_examples, model, config, tfma_blessed=True
    )
    result = metrics_json(evaluation)
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
    # Curves, the bracket (IBP by default), corruption bars, example grid, activations, one
    # example under each corruption.
    assert BLESSED_VERDICT in report and report.count("data:image/png") == 6
    assert "alt='bracket.png'" in report
    certified = candidate["certified_accuracy"]
    assert 0.0 <= certified <= candidate["worst_case_robust_accuracy"]
    assert evaluation.get_float_custom_property("candidate_certified_accuracy") == certified
    assert "Natural corruptions" in report
    # The verdict for the KFP UI: the headline figures, and the report as one file.
    ui = json.loads((tmp_path / "metrics" / "metrics.json").read_text())
    assert ui == {
        "clean_accuracy": candidate["clean_accuracy"],
        "worst_case_robust_accuracy": candidate["worst_case_robust_accuracy"],
        "certified_accuracy": certified,
        "corruption_mean": candidate["corruption_mean"],
        "corruption_worst": candidate["corruption_worst"],
        "blessed": 1.0,
    }
    assert (tmp_path / "report").read_text() == report


def test_corruptions_are_judged_in_the_same_pass_exactly_as_applied_alone(
    tmp_path, transformed_examples, trained_model_dir
):
    """The quick set's accuracies equal each corruption applied by the library alone to the
    same images and classified by the same model; they feed the rules, the card and ML
    Metadata."""
    from robustfx.base.corruption_sets import resolve_corruption_set
    from robustfx.robustness.corruptions import registry
    from robustfx.robustness.models.examples import read_examples
    from robustfx.robustness.models.saved_models import load_logits_fn

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
    evaluation, blessing = run_evaluator(
        tmp_path, transformed_examples, model_artifact(trained_model_dir, 8), config
    )
    result = metrics_json(evaluation)
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


def test_model_without_attack_signature_is_a_clear_error(tmp_path, transformed_examples):
    module = tf.Module()
    module.f = tf.function(lambda x: x * 2, input_signature=[tf.TensorSpec([None], tf.float32)])
    uri = tmp_path / "model"
    tf.saved_model.save(module, str(uri / "Format-Serving"), signatures={"other": module.f})
    config = EvaluationConfig(
        attacks=SUITE[:1], thresholds=ThresholdConfig(min_robust_accuracy={}), corruptions="none"
    )
    with pytest.raises(ModelSignatureError, match="has no 'serving_transformed' signature"):
        run_evaluator(tmp_path, transformed_examples, model_artifact(str(uri), 1), config)
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
    evaluation, blessing = run_evaluator(
        tmp_path,
        transformed_examples,
        model_artifact(masked_model_dir, 4),
        config,
        tfma_blessed=True,
    )
    result = metrics_json(evaluation)
    failed = {check["rule"] for check in result["validity"] if not check["passed"]}
    assert result["evaluation_valid"] is False
    assert "validity:black_box_not_stronger" in failed
    assert blessing.get_int_custom_property("blessed") == 0
    assert evaluation.get_int_custom_property("evaluation_valid") == 0
    assert "black-box attacks broke" in blessing.get_string_custom_property("reasons")
    card = json.load(open(os.path.join(blessing.uri, "model_card.json")))
    checks = card["robustness_evaluation"]["graph_checks"]
    assert checks["candidate"]["allowed_by_flag"] == ["CheckNumerics"]  # recorded in the card
