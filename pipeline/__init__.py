"""The graph layer: the TFX pipeline (``production``), its local runner, run summaries read
from ML Metadata, run history and the comparison graph."""
