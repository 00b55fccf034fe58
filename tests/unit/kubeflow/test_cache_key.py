"""KFP's cache key: what makes two executions of a task the same to open-source KFP."""

import copy

from robustfx.kubeflow.local.cache_key import cache_key, fingerprint

EXECUTOR_INPUT = {
    "inputs": {
        "parameterValues": {"seed": 3},
        "artifacts": {"examples": {"artifacts": [{"name": "17", "uri": "s3://b/e/1"}]}},
    },
    "outputs": {
        "artifacts": {"model": {"artifacts": [{"name": "model", "uri": "s3://b/run1/model",
                                                "type": {"instanceSchema": "title: tfx.Model"}}]}},
        "outputFile": "/tmp/out.json",
    },
}  # fmt: skip
CONTAINER = {"image": "robustfx:1", "command": ["python", "-m", "m"], "args": ["{{$}}"]}


def _key(executor_input=EXECUTOR_INPUT, container=CONTAINER):
    return fingerprint(cache_key(executor_input, container, {}))


def test_another_run_of_the_same_task_on_the_same_inputs_has_the_same_key():
    again = copy.deepcopy(EXECUTOR_INPUT)
    again["outputs"]["artifacts"]["model"]["artifacts"][0]["uri"] = "s3://b/run2/model"
    again["outputs"]["outputFile"] = "/tmp/elsewhere.json"
    assert _key(again) == _key()  # output URIs are wiped


def test_new_input_artifacts_parameters_or_image_change_the_key():
    new_artifact = copy.deepcopy(EXECUTOR_INPUT)
    new_artifact["inputs"]["artifacts"]["examples"]["artifacts"][0]["name"] = "18"
    new_seed = copy.deepcopy(EXECUTOR_INPUT)
    new_seed["inputs"]["parameterValues"]["seed"] = 4
    keys = {_key(), _key(new_artifact), _key(new_seed), _key(container={**CONTAINER, "image": "x"})}
    assert len(keys) == 4


def test_the_data_behind_an_unchanged_input_does_not_enter_the_key():
    """Why a cached ImportExampleGen would serve stale data: its key is its parameters and
    image only, whatever the files under its input_base now hold."""
    same_name_new_uri = copy.deepcopy(EXECUTOR_INPUT)
    same_name_new_uri["inputs"]["artifacts"]["examples"]["artifacts"][0]["uri"] = "s3://b/e/2"
    assert _key(same_name_new_uri) == _key()
