"""The atomic Pusher: blessed models appear whole or not at all; unblessed never appear."""

import json
import os
from unittest import mock

import pytest
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from robustfx.components import atomic_pusher
from robustfx.robustness.models import saved_models
from robustfx.robustness.presentation import model_card


def _model(tmp_path):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    serving = tmp_path / "model" / "Format-Serving"
    (serving / "variables").mkdir(parents=True, exist_ok=True)
    (serving / "saved_model.pb").write_bytes(b"graph")
    (serving / "variables" / "variables.index").write_bytes(b"weights")
    return model


def _push(tmp_path, serving_dir, blessed, card=None):
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    if card is not None:  # as the RobustnessEvaluator writes it beside its blessing
        os.makedirs(blessing.uri, exist_ok=True)
        with open(os.path.join(blessing.uri, model_card.CARD_JSON), "w") as f:
            json.dump(card, f)
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(serving_dir))
    )
    atomic_pusher.Executor().Do(
        {"model": [_model(tmp_path)], "model_blessing": [blessing]},
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {standard_component_specs.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination)},
    )
    return pushed


def test_blessed_model_is_pushed_to_a_new_version(tmp_path):
    serving = tmp_path / "serving"
    (serving / "100").mkdir(parents=True)  # an earlier version stays
    pushed = _push(tmp_path, serving, blessed=True)
    destination = pushed.get_string_custom_property("pushed_destination")
    assert pushed.get_int_custom_property("pushed") == 1
    assert os.path.basename(destination).isdigit()
    assert open(os.path.join(destination, "saved_model.pb"), "rb").read() == b"graph"
    assert sorted(os.listdir(serving)) == sorted(["100", os.path.basename(destination)])


def test_unblessed_model_never_appears(tmp_path):
    serving = tmp_path / "serving"
    pushed = _push(tmp_path, serving, blessed=False)
    assert pushed.get_int_custom_property("pushed") == 0
    assert not serving.exists() or os.listdir(serving) == []


def test_a_crash_mid_copy_leaves_no_version_and_keeps_the_previous(tmp_path):
    serving = tmp_path / "serving"
    (serving / "100").mkdir(parents=True)
    real_copy = atomic_pusher.io_utils.copy_dir

    def copy_then_die(source, destination):
        real_copy(source, destination)
        raise KeyboardInterrupt("killed mid-push")

    with mock.patch.object(atomic_pusher.io_utils, "copy_dir", side_effect=copy_then_die):
        with pytest.raises(KeyboardInterrupt):
            _push(tmp_path, serving, blessed=True)
    assert os.listdir(serving) == ["100"]


def test_an_existing_version_is_never_overwritten(tmp_path):
    (tmp_path / "serving" / "7").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        atomic_pusher.push_atomically(str(tmp_path / "model"), str(tmp_path / "serving"), "7")


CARD = {
    "model_details": {"name": "p", "overview": "o", "version": {"name": "", "date": "d"}},
    "model_parameters": {
        "data": {"train": {"name": "t"}, "eval": {"name": "e"}, "split_sizes": {}},
        "training_recipe": {},
    },
    "quantitative_analysis": {"performance_metrics": []},
    "robustness_evaluation": {
        "suite": "quick",
        "attacks": [],
        "evaluation_valid": True,
        "blessed": True,
        "baseline": None,
        "rules": [],
        "paired_tests": {},
    },
    "provenance": {"model_artifact_id": 7},
}


def test_the_model_card_is_pushed_inside_the_version_stamped_with_it(tmp_path):
    pushed = _push(tmp_path, tmp_path / "serving", blessed=True, card=CARD)
    destination = pushed.get_string_custom_property("pushed_destination")
    version = os.path.basename(destination)
    card = json.load(open(os.path.join(destination, model_card.CARD_JSON)))
    assert card["model_details"]["version"]["name"] == version
    fingerprint = card["provenance"].pop("fingerprint")
    assert card["provenance"] == {"model_artifact_id": 7, "pushed_version": version}
    assert fingerprint == saved_models.model_fingerprint(destination)
    markdown = open(os.path.join(destination, model_card.CARD_MARKDOWN)).read()
    assert markdown.startswith(f"# Model card: p {version}")


def test_on_an_object_store_the_graph_is_copied_last(tmp_path):
    """No atomic directory rename there: every file is copied into place, saved_model.pb
    last, so a model server never loads a version without its variables."""
    import tensorflow as tf

    model = _model(tmp_path)
    copied = []
    real_copy = atomic_pusher.fileio.copy

    def record(source, target, *args, **kwargs):
        copied.append(os.path.basename(target))
        return real_copy(source, target, *args, **kwargs)

    root = f"ram://push-{tmp_path.name}"
    with mock.patch.object(atomic_pusher.fileio, "copy", side_effect=record):
        pushed = atomic_pusher.push_atomically(model.uri, f"{root}/serving", "9", {"card.md": "x"})
    assert copied == ["variables.index", "saved_model.pb"]
    assert tf.io.gfile.exists(f"{pushed}/Format-Serving/saved_model.pb")
    assert tf.io.gfile.exists(f"{pushed}/card.md")


def test_the_same_model_is_never_pushed_twice(tmp_path):
    """A nightly run with nothing changed: blessed again, but already serving."""
    serving = tmp_path / "serving"
    first = _push(tmp_path, serving, blessed=True, card=CARD)
    again = _push(tmp_path, serving, blessed=True, card=CARD)
    version = os.path.basename(first.get_string_custom_property("pushed_destination"))
    assert again.get_int_custom_property("pushed") == 0
    assert again.get_string_custom_property("push_skipped").startswith(
        f"identical to serving version {version}"
    )
    assert os.listdir(serving) == [version]


def test_a_version_without_a_model_card_is_recognised_by_its_bytes(tmp_path):
    serving = tmp_path / "serving"
    first = _push(tmp_path, serving, blessed=True)  # no card beside the blessing
    again = _push(tmp_path, serving, blessed=True)
    assert again.get_int_custom_property("pushed") == 0
    assert len(os.listdir(serving)) == 1 and first.get_int_custom_property("pushed") == 1


def _export(path, weights):
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.Variable(weights)
    module.scale = tf.function(lambda x: x * module.w, input_signature=[tf.TensorSpec([2])])
    module.shift = tf.function(lambda x: x + module.w, input_signature=[tf.TensorSpec([2])])
    tf.saved_model.save(module, str(path))
    return path


def test_a_retrain_that_wrote_the_same_weights_is_the_serving_version(tmp_path):
    """TensorFlow writes a SavedModel's function library in an order that varies between
    processes, so the same weights exported by two retrains (two KFP runs, no cache) differ
    byte by byte. The fingerprint reads the graph in canonical form: the retrain is
    recognised as the version already serving; other weights are not."""
    import shutil

    from tensorflow.core.protobuf import saved_model_pb2

    first = _export(tmp_path / "first", [1.0, 2.0])
    retrain = tmp_path / "retrain"
    shutil.copytree(first, retrain)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((first / "saved_model.pb").read_bytes())
    library = saved.meta_graphs[0].graph_def.library
    functions = list(library.function)[::-1]
    del library.function[:]
    library.function.extend(functions)
    (retrain / "saved_model.pb").write_bytes(saved.SerializeToString())
    assert (retrain / "saved_model.pb").read_bytes() != (first / "saved_model.pb").read_bytes()
    fingerprint = saved_models.model_fingerprint(str(retrain))
    assert fingerprint == saved_models.model_fingerprint(str(first))
    serving = tmp_path / "serving"
    shutil.copytree(first, serving / "5")
    assert atomic_pusher.identical_version(fingerprint, str(serving)) == "5"
    other = saved_models.model_fingerprint(str(_export(tmp_path / "other", [1.0, 3.0])))
    assert atomic_pusher.identical_version(other, str(serving)) is None
