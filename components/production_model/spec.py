"""The ProductionModel component's artifact type, keys and ComponentSpec."""

from tfx.types import artifact
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Parameters.
SERVING_DIR_KEY = "serving_dir"  # the Pusher's destination: where production serves from
# A value new at every local run, so that the local runner's cache never answers for this
# component (what serves may have changed since). Compiled specs turn caching off instead.
LOOKUP_KEY = "lookup"
# Outputs.
PRODUCTION_KEY = "production"
POINTER_FILE = "production.json"  # Production.to_dict(), inside the output artifact

# Custom properties of the output artifact (what a reader needs without opening it).
FOUND_PROPERTY = "found"  # 1: a blessed model serves and is the baseline
VERSION_PROPERTY = "serving_version"
URI_PROPERTY = "serving_uri"
PROBLEM_PROPERTY = "problem"
FINGERPRINT_PROPERTY = "fingerprint"
MODEL_URI_PROPERTY = "model_uri"
MODEL_ID_PROPERTY = "model_artifact_id"


class ProductionModelPointer(artifact.Artifact):
    """Points at the serving version that is production (or says why there is none). The
    model itself stays where it serves; the artifact holds ``production.json``."""

    TYPE_NAME = "robustfx.ProductionModel"


class ProductionModelSpec(ComponentSpec):
    """ComponentSpec of the ProductionModel component."""

    PARAMETERS = {
        SERVING_DIR_KEY: ExecutionParameter(type=str),
        LOOKUP_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {PRODUCTION_KEY: ChannelParameter(type=ProductionModelPointer)}
