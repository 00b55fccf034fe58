"""A Pusher executor whose pushes are atomic: written aside, then renamed into place.

TFX's filesystem Pusher copies the model straight into ``<serving>/<version>/`` (it copies
``saved_model.pb`` last), so a crash mid-copy leaves a partial directory that a model server
polling the serving directory may try to load. Here the model is copied into a hidden staging
directory beside the versions and renamed to its version number only once complete. Earlier
versions stay untouched and servable throughout. The blessing check is TFX's own. Every file
call goes through TFX's ``fileio`` (gs:// and other remote schemes included); on object stores
such as GCS a rename is a copy then a delete, so there the staging name is what keeps a
half-copied version out of the serving path's numbered versions.
"""

import json
import logging
import os
import time
from typing import Any, Dict, List, Mapping, Optional

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from robustfx.components.production_model.finder import read_card, serving_versions
from robustfx.robustness.models import saved_models
from robustfx.robustness.presentation import model_card

STAGING_PREFIX = ".incomplete-"
PUSH_SKIPPED = "push_skipped"  # why a blessed model was not pushed (already serving)


def push_atomically(
    model_dir: str, base_directory: str, version: str, extra_files: Mapping[str, str] = None
) -> str:
    """Copies ``model_dir`` to ``base_directory/version`` so that it appears complete or not
    at all, with ``extra_files`` (file name -> text, e.g. the model card) inside; returns
    the version directory.

    On a local filesystem the copy is staged and renamed (atomic). Object stores (gs://,
    s3://, ram://, ...) have no atomic directory rename (TensorFlow's renames a directory's
    own entry, not what is under it), so there every file is copied into place with each
    ``saved_model.pb`` last: a model server does not load a version before its graph is there.

    Raises:
      FileExistsError: that version already exists (it is never overwritten).
    """
    destination = os.path.join(base_directory, version)
    if fileio.exists(destination):
        raise FileExistsError(f"serving version {destination} already exists")
    fileio.makedirs(base_directory)
    if "://" in base_directory:
        _copy_graph_last(model_dir, destination, extra_files or {})
        return destination
    staging = os.path.join(base_directory, f"{STAGING_PREFIX}{version}")
    if fileio.exists(staging):  # left by an earlier crash
        fileio.rmtree(staging)
    try:
        io_utils.copy_dir(model_dir, staging)
        for name, text in (extra_files or {}).items():
            io_utils.write_string_file(os.path.join(staging, name), text)
        fileio.rename(staging, destination)  # atomic on a local filesystem
    except BaseException:
        if fileio.exists(staging):
            fileio.rmtree(staging)
        raise
    return destination


def _copy_graph_last(source: str, destination: str, extra_files: Mapping[str, str]) -> None:
    graphs = []
    for directory, _, files in fileio.walk(source):
        target = destination + directory[len(source.rstrip("/")) :]
        fileio.makedirs(target)
        for name in files:
            pair = (os.path.join(directory, name), os.path.join(target, name))
            if name == "saved_model.pb":
                graphs.append(pair)
            else:
                fileio.copy(*pair)
    for name, text in extra_files.items():
        io_utils.write_string_file(os.path.join(destination, name), text)
    for pair in graphs:
        fileio.copy(*pair)


def _new_version(base_directory: str) -> str:
    """A Unix-time version, bumped past any existing one (two pushes in one second)."""
    version = int(time.time())
    while fileio.exists(os.path.join(base_directory, str(version))):
        version += 1
    return str(version)


def identical_version(fingerprint: str, base_directory: str) -> Optional[str]:
    """The serving version holding a model with this fingerprint, newest first, if any (from
    its model card, or by reading the model when it has none)."""
    for version in serving_versions(base_directory):
        directory = os.path.join(base_directory, version)
        known = (read_card(directory) or {}).get("provenance", {})
        if known.get("fingerprint"):
            if known["fingerprint"] == fingerprint:
                return version
            continue
        if fileio.exists(os.path.join(directory, "saved_model.pb")):
            if saved_models.model_fingerprint(directory) == fingerprint:
                return version
    return None


def _model_card(
    input_dict: Dict[str, List[types.Artifact]], version: str, fingerprint: str
) -> Dict[str, str]:
    """The RobustnessEvaluator's model card from beside its blessing, stamped with the
    version it is pushed as and the model's fingerprint; empty when the blessing has none."""
    blessings = input_dict.get(standard_component_specs.MODEL_BLESSING_KEY) or []
    if not blessings:
        return {}
    path = os.path.join(blessings[0].uri, model_card.CARD_JSON)
    if not fileio.exists(path):
        return {}
    card = json.loads(io_utils.read_string_file(path))
    card["model_details"]["version"]["name"] = version
    card["provenance"]["pushed_version"] = version
    card["provenance"]["fingerprint"] = fingerprint
    return {
        model_card.CARD_JSON: json.dumps(card, indent=2),
        model_card.CARD_MARKDOWN: model_card.render_markdown(card),
    }


class Executor(tfx_pusher.Executor):
    """TFX's Pusher, with the filesystem push made atomic."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("only filesystem push destinations are supported")
        base = destination.filesystem.base_directory
        model_path = self.GetModelPath(input_dict)
        fingerprint = saved_models.model_fingerprint(model_path)
        serving = identical_version(fingerprint, base)
        if serving is not None:
            reason = f"identical to serving version {serving} ({os.path.join(base, serving)})"
            logging.info("Pusher: nothing pushed: the model is %s", reason)
            self._MarkNotPushed(model_push)
            model_push.set_string_custom_property(PUSH_SKIPPED, reason)
            return
        version = _new_version(base)
        card = _model_card(input_dict, version, fingerprint)
        pushed = push_atomically(model_path, base, version, card)
        io_utils.copy_dir(self.GetModelPath(input_dict), model_push.uri)
        self._MarkPushed(model_push, pushed_destination=pushed, pushed_version=version)
