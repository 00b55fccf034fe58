"""The RobustnessEvaluator TFX component: white-box attacks, metrics and a ModelBlessing.

The component is imported on first use of ``RobustnessEvaluator``: a reader of its keys
(``spec``), such as ``robustfx gate``, does not import the executor and its TFX components.
"""

import importlib

__all__ = ["RobustnessEvaluator"]


def __getattr__(name: str):
    if name == "RobustnessEvaluator":
        return importlib.import_module(f"{__name__}.component").RobustnessEvaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
