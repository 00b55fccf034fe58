"""The TFMA Evaluator's config: clean accuracy on the raw-example serving signature, with the
absolute threshold, sliced by class. The change against production is judged by the
RobustnessEvaluator, paired on the same examples (``max_clean_drop``)."""

import tensorflow_model_analysis as tfma

from robustfx.base import keys
from robustfx.base.evaluation_config import ThresholdConfig


def tfma_eval_config(thresholds: ThresholdConfig) -> tfma.EvalConfig:
    """Gates on the overall slice only; per-class slices are reported (on every slice, one
    weak class would silently veto the blessing)."""
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": thresholds.min_clean_accuracy}
        )
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=keys.SERVING_SIGNATURE,
                label_key=keys.LABEL_KEY,
                prediction_key=keys.PROBABILITIES_KEY,
                preprocessing_function_names=[],
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[keys.LABEL_KEY])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()], threshold=accuracy_threshold
                            )
                        ],
                    ),
                    tfma.MetricConfig(class_name="ExampleCount"),
                ]
            )
        ],
    )
