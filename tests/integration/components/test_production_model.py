"""The ProductionModel component's search: what serves, and whether it can be the baseline,
on real pushed SavedModels (an empty, a corrupt and an unblessed serving directory
included), and the component run through its executor."""

import json
import os

import pytest
from tfx.types import artifact_utils

from robustfx.components.atomic_pusher import push_atomically
from robustfx.components.production_model import executor as production_executor
from robustfx.components.production_model import spec
from robustfx.components.production_model.finder import find_production
from robustfx.robustness.models.saved_models import model_fingerprint


def _card(fingerprint, blessed=True):
    return json.dumps(
        {
            "robustness_evaluation": {"blessed": blessed},
            "provenance": {
                "fingerprint": fingerprint,
                "model_uri": "root/Trainer/model/7",
                "model_artifact_id": 7,
            },
        }
    )


@pytest.fixture(scope="module")
def model(trained_model_dir):
    model_dir = os.path.join(trained_model_dir, "Format-Serving")
    return model_dir, model_fingerprint(model_dir)


def test_nothing_serves_yet(tmp_path):
    for serving in (tmp_path / "missing", tmp_path):
        found = find_production(str(serving))
        assert found.version is None and not found.problem and not found.usable
        assert found.describe() == f"no production model: {serving} holds no version yet"


def test_the_newest_blessed_version_is_production(tmp_path, model):
    model_dir, fingerprint = model
    for version in ("100", "200"):
        push_atomically(model_dir, str(tmp_path), version, {"model_card.json": _card(fingerprint)})
    (tmp_path / "notes").mkdir()  # not a version
    found = find_production(str(tmp_path))
    assert found.usable and found.version == "200" and found.uri == str(tmp_path / "200")
    assert found.fingerprint == fingerprint
    assert (found.model_uri, found.model_artifact_id) == ("root/Trainer/model/7", 7)


@pytest.mark.parametrize(
    "card, problem",
    [
        (None, "serving version 300 has no model_card.json: it was not pushed by this project"),
        (_card("0" * 64, blessed=False), "serving version 300's model card does not say it was "
         "blessed"),
        ("{not json", "serving version 300 is unreadable: "),
        (_card("0" * 64), "serving version 300 is not the model its card blessed (the "
         "fingerprint of its files differs): it was changed after the push"),
    ],
)  # fmt: skip
def test_a_newest_version_without_the_projects_blessing_is_a_problem_not_skipped(
    tmp_path, model, card, problem
):
    """An older blessed version is never used instead: it is not what serves."""
    model_dir, fingerprint = model
    push_atomically(model_dir, str(tmp_path), "100", {"model_card.json": _card(fingerprint)})
    push_atomically(model_dir, str(tmp_path), "300", {"model_card.json": card} if card else {})
    found = find_production(str(tmp_path))
    assert found.version == "300" and not found.usable
    assert found.problem.startswith(problem)


def test_an_unreadable_serving_directory_is_a_problem(tmp_path):
    not_a_directory = tmp_path / "serving"
    not_a_directory.write_text("a file where the serving directory should be")
    found = find_production(str(not_a_directory))
    assert not found.usable
    assert found.problem.startswith(f"serving directory {not_a_directory} is unreadable: ")


def test_the_executor_records_a_pointer_a_reader_gets_back(tmp_path, model):
    model_dir, fingerprint = model
    serving = tmp_path / "serving"
    push_atomically(model_dir, str(serving), "5", {"model_card.json": _card(fingerprint)})
    pointer = spec.ProductionModelPointer()
    pointer.uri = str(tmp_path / "pointer")
    production_executor.Executor().Do(
        {}, {spec.PRODUCTION_KEY: [pointer]}, {spec.SERVING_DIR_KEY: str(serving)}
    )
    found = artifact_utils.get_single_instance([pointer])
    assert found.get_int_custom_property(spec.FOUND_PROPERTY) == 1
    assert production_executor.read(found) == find_production(str(serving))
    written = json.loads((tmp_path / "pointer" / spec.POINTER_FILE).read_text())
    assert written["version"] == "5" and written["problem"] == ""
