"""The RobustnessEvaluator's executor run on hand-built artifacts, as TFX would run it."""

import json
import os

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.serialization import to_dict
from tests.helpers.datasets import write_transformed_examples

CLASSES = [str(d) for d in range(10)]


def transformed_examples(directory, images, labels):
    """An Examples artifact of gzipped tfrecords as Transform writes them (one test split)."""
    from tfx.types import standard_artifacts

    os.makedirs(os.path.join(directory, "Split-test"))
    write_transformed_examples(os.path.join(directory, "Split-test", "data.gz"), images, labels)
    artifact = standard_artifacts.Examples()
    artifact.uri = str(directory)
    artifact.split_names = '["test"]'
    return artifact


def model_artifact(uri: str, artifact_id: int):
    from tfx.types import standard_artifacts

    artifact = standard_artifacts.Model()
    artifact.uri = uri
    artifact.id = artifact_id
    return artifact


def _artifact(kind, uri):
    artifact = kind()
    artifact.uri = str(uri)
    return artifact


def run_evaluator(
    tmp_path, examples, model, config: EvaluationConfig, baseline=None, tfma_blessed=None
):
    """``Executor().Do`` on the artifacts; returns (evaluation, blessing) under ``tmp_path``.
    The KFP UI's outputs go to ``tmp_path/metrics`` (a directory) and ``tmp_path/report`` (a
    file, as on an object store)."""
    from tfx.types import standard_artifacts
    from tfx.types.experimental import simple_artifacts

    from robustfx.components.robustness_evaluator import executor, spec

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
        {
            spec.EVALUATION_KEY: [evaluation],
            spec.BLESSING_KEY: [blessing],
            spec.METRICS_KEY: [_artifact(simple_artifacts.Metrics, tmp_path / "metrics")],
            spec.REPORT_KEY: [_artifact(simple_artifacts.File, tmp_path / "report")],
        },
        {
            spec.EVALUATION_CONFIG_KEY: json.dumps(to_dict(config)),
            spec.CLASS_NAMES_KEY: json.dumps(CLASSES),
            spec.SEED_KEY: 0,
        },
    )
    return evaluation, blessing


def metrics_json(evaluation) -> dict:
    """The evaluation's metrics.json."""
    from robustfx.components.robustness_evaluator import spec

    with open(os.path.join(evaluation.uri, spec.METRICS_FILE)) as f:
        return json.load(f)
