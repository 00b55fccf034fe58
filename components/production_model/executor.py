"""Executor of the ProductionModel component: looks in the serving directory, records what
serves as a pointer artifact, and says so in the log."""

import json
import logging
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from robustfx.components.production_model import spec
from robustfx.components.production_model.finder import Production, find_production


def record(artifact: types.Artifact, production: Production) -> None:
    """Writes ``production`` into the pointer artifact: its file and its properties."""
    fileio.makedirs(artifact.uri)
    io_utils.write_string_file(
        os.path.join(artifact.uri, spec.POINTER_FILE),
        json.dumps(production.to_dict(), indent=2, sort_keys=True),
    )
    artifact.set_int_custom_property(spec.FOUND_PROPERTY, int(production.usable))
    artifact.set_string_custom_property(spec.VERSION_PROPERTY, production.version or "")
    artifact.set_string_custom_property(spec.URI_PROPERTY, production.uri)
    artifact.set_string_custom_property(spec.PROBLEM_PROPERTY, production.problem)
    artifact.set_string_custom_property(spec.FINGERPRINT_PROPERTY, production.fingerprint)
    artifact.set_string_custom_property(spec.MODEL_URI_PROPERTY, production.model_uri)
    artifact.set_int_custom_property(spec.MODEL_ID_PROPERTY, production.model_artifact_id)


def read(artifact: types.Artifact) -> Production:
    """The Production a pointer artifact records (from its properties)."""
    serving_uri = artifact.get_string_custom_property(spec.URI_PROPERTY)
    return Production(
        serving_dir=os.path.dirname(serving_uri.rstrip("/")),
        version=artifact.get_string_custom_property(spec.VERSION_PROPERTY) or None,
        uri=serving_uri,
        fingerprint=artifact.get_string_custom_property(spec.FINGERPRINT_PROPERTY),
        model_uri=artifact.get_string_custom_property(spec.MODEL_URI_PROPERTY),
        model_artifact_id=artifact.get_int_custom_property(spec.MODEL_ID_PROPERTY),
        problem=artifact.get_string_custom_property(spec.PROBLEM_PROPERTY),
    )


class Executor(base_executor.BaseExecutor):
    """Finds the model that serves in the Pusher's destination."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        production = find_production(exec_properties[spec.SERVING_DIR_KEY])
        pointer = artifact_utils.get_single_instance(output_dict[spec.PRODUCTION_KEY])
        record(pointer, production)
        log = logging.warning if production.problem else logging.info
        log("ProductionModel: %s", production.describe())
