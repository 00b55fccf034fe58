"""The ProductionModel component: finds the model that serves, on every orchestrator.

The component is imported on first use of ``ProductionModel``: a reader of its pointer
(``spec``) does not import the component and its executor.
"""

import importlib

__all__ = ["ProductionModel"]


def __getattr__(name: str):
    if name == "ProductionModel":
        return importlib.import_module(f"{__name__}.component").ProductionModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
