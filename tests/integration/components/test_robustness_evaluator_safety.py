"""The RobustnessEvaluator refuses an untrusted model before anything of it runs: no file of
the attacker's, no evaluation, no blessing."""

import json

import pytest
from tfx.types import standard_artifacts

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.base.serialization import to_dict
from robustfx.components.robustness_evaluator import executor, spec
from robustfx.robustness.models.graph_safety import UnsafeModelError
from tests.helpers.models import save_untrusted_model, untrusted_payloads


@pytest.mark.parametrize("role", [spec.MODEL_KEY, spec.BASELINE_MODEL_KEY])
def test_a_candidate_or_baseline_that_writes_a_file_is_refused(tmp_path, trained_model_dir, role):
    target = tmp_path / "target"
    target.mkdir()
    save_untrusted_model(
        tmp_path / "untrusted" / "Format-Serving", untrusted_payloads(str(target))["WriteFile"]
    )
    models = {spec.MODEL_KEY: trained_model_dir, spec.BASELINE_MODEL_KEY: trained_model_dir}
    models[role] = str(tmp_path / "untrusted")
    inputs = {}
    for artifact_id, (key, uri) in enumerate(models.items(), start=1):
        inputs[key] = [standard_artifacts.Model()]
        inputs[key][0].uri, inputs[key][0].id = uri, artifact_id
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = str(tmp_path / "examples"), '["test"]'
    evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
    evaluation.uri, blessing.uri = str(tmp_path / "evaluation"), str(tmp_path / "blessing")
    config = EvaluationConfig(
        attacks=(AttackConfig.from_name("fgsm_linf_0.2"),),
        thresholds=ThresholdConfig(min_robust_accuracy={}),
    )
    with pytest.raises(UnsafeModelError, match="op 'WriteFile'"):
        executor.Executor().Do(
            {spec.EXAMPLES_KEY: [examples], **inputs},
            {spec.EVALUATION_KEY: [evaluation], spec.BLESSING_KEY: [blessing]},
            {
                spec.EVALUATION_CONFIG_KEY: json.dumps(to_dict(config)),
                spec.CLASS_NAMES_KEY: json.dumps([str(d) for d in range(10)]),
            },
        )
    assert list(target.iterdir()) == []
    assert not (tmp_path / "evaluation").exists() and not (tmp_path / "blessing").exists()
