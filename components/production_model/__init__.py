"""The ProductionModel component: finds the model that serves, on every orchestrator."""

from robustfx.components.production_model.component import ProductionModel

__all__ = ["ProductionModel"]
