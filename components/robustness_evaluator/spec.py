"""Artifact and parameter keys of the RobustnessEvaluator, and its ComponentSpec."""

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.types.experimental import simple_artifacts

from robustfx.components.production_model.spec import ProductionModelPointer
from robustfx.robustness.verdict import outcome

# Inputs.
EXAMPLES_KEY = "examples"  # ExampleGen's raw TFDS records, decoded as Transform decodes them.
MODEL_KEY = "model"  # the candidate, attacked white-box.
BASELINE_MODEL_KEY = "baseline_model"  # a baseline Model artifact; attacked the same way.
# The ProductionModel component's pointer: the serving version that is the baseline, or why
# there is none usable (then the comparison is skipped loudly, or refused on request).
PRODUCTION_MODEL_KEY = "production_model"
TFMA_BLESSING_KEY = "tfma_blessing"  # TFMA Evaluator's verdict on clean metrics.
# Optional reference for the write-ups' transfer protocol (e.g. the non-adversarial baseline).
REFERENCE_MODEL_KEY = "reference_model"
# Outputs.
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
# The verdict for the KFP UI (system.Metrics and system.HTML in the compiled spec).
METRICS_KEY = "metrics"
REPORT_KEY = "report"
# Parameters.
EVALUATION_CONFIG_KEY = "evaluation_config"  # JSON of base.evaluation_config.EvaluationConfig.
CLASS_NAMES_KEY = "class_names"  # JSON list, from the dataset's TFDS metadata.
SEED_KEY = "seed"
# JSON: the dataset, model, adversarial and training settings, for the model card.
MODEL_INFO_KEY = "model_info"
# JSON (height, width, channels) of the dataset's TFDS metadata: the examples are raw TFDS
# records, decoded exactly as Transform does. Empty: Transform-style float records.
RAW_IMAGE_SHAPE_KEY = "raw_image_shape"

# Set only on the RobustnessEvaluator's blessings, so a baseline query can tell them from
# TFMA's (both are ModelBlessing artifacts with 'blessed').
ROBUSTNESS_BLESSED_PROPERTY = "robustness_blessed"

METRICS_FILE = outcome.METRICS_FILE  # the evaluation's EvaluationResult.to_dict()
BLESSED_FILE = "BLESSED"
NOT_BLESSED_FILE = "NOT_BLESSED"


class RobustnessEvaluatorSpec(ComponentSpec):
    """ComponentSpec of the RobustnessEvaluator."""

    PARAMETERS = {
        EVALUATION_CONFIG_KEY: ExecutionParameter(type=str),
        CLASS_NAMES_KEY: ExecutionParameter(type=str),
        SEED_KEY: ExecutionParameter(type=int, optional=True),
        MODEL_INFO_KEY: ExecutionParameter(type=str, optional=True),
        RAW_IMAGE_SHAPE_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        BASELINE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model, optional=True),
        PRODUCTION_MODEL_KEY: ChannelParameter(type=ProductionModelPointer, optional=True),
        TFMA_BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing, optional=True),
        REFERENCE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        METRICS_KEY: ChannelParameter(type=simple_artifacts.Metrics),
        REPORT_KEY: ChannelParameter(type=simple_artifacts.File),
    }
