"""The RobustnessEvaluator TFX component: white-box attacks, metrics and a ModelBlessing."""

from robustfx.components.robustness_evaluator.component import RobustnessEvaluator

__all__ = ["RobustnessEvaluator"]
