"""Open-source KFP's rules on a compiled spec: what its backend refuses, in its words."""

import copy

import pytest

from robustfx.kubeflow.oss_rules import is_resource_name, oss_refusals


def _spec(**executor):
    """One container task 'train' and whatever ``executor`` adds as task 'extra'."""
    return {
        "root": {
            "dag": {
                "tasks": {
                    "train": {"componentRef": {"name": "comp-train"}},
                    "extra": {"componentRef": {"name": "comp-extra"}},
                }
            }
        },
        "components": {
            "comp-train": {"executorLabel": "exec-train"},
            "comp-extra": {"executorLabel": "exec-extra"},
        },
        "deploymentSpec": {
            "executors": {
                "exec-train": {"container": {"image": "i", "command": ["python"]}},
                "exec-extra": executor or {"container": {"image": "i"}},
            }
        },
    }


def test_container_and_importer_tasks_pass():
    assert oss_refusals(_spec()) == []
    assert oss_refusals(_spec(importer={"artifactUri": {"constant": "s3://b/x"}})) == []


@pytest.mark.parametrize(
    "executor, message",
    [
        ({"resolver": {"outputArtifactQueries": {}}}, "resolver executors not implemented"),
        ({"customJob": {"customJob": {}}},
         "custom job executors is Google Cloud only, it's not supported"),
        ({"somethingElse": {}},
         "executor(label='exec-extra'): non-container and non-importer executor not "
         "implemented"),
    ],
)  # fmt: skip
def test_other_executors_are_refused_in_kfps_words(executor, message):
    assert oss_refusals(_spec(**executor)) == [f"component comp-extra: {message}"]


def test_an_executor_missing_from_the_deployment_is_named():
    spec = _spec()
    del spec["deploymentSpec"]["executors"]["exec-extra"]
    assert oss_refusals(spec) == [
        "component comp-extra: executor(label='exec-extra') not found in deployment config"
    ]


def test_an_artifact_iterator_and_a_condition_on_an_importer_are_refused():
    spec = _spec(importer={"artifactUri": {"constant": "s3://b/x"}})
    spec["root"]["dag"]["tasks"]["train"]["artifactIterator"] = {"items": {}}
    spec["root"]["dag"]["tasks"]["extra"]["triggerPolicy"] = {"condition": "a == b"}
    assert oss_refusals(spec) == [
        "task train: artifact iterator not implemented yet",
        "task extra: triggerPolicy.condition on importer task is not supported",
    ]
    conditioned_container = copy.deepcopy(_spec())
    conditioned_container["root"]["dag"]["tasks"]["extra"]["triggerPolicy"] = {
        "condition": "a == b"
    }
    assert oss_refusals(conditioned_container) == []  # a container may have one


@pytest.mark.parametrize("name", ["nvidia.com/gpu", "amd.com/gpu", "google.com/tpu"])
def test_kubernetes_resource_names_are_accelerators(name):
    spec = _spec()
    container = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    container["resources"] = {"accelerator": {"type": name, "count": "1"}}
    assert is_resource_name(name) and oss_refusals(spec) == []


@pytest.mark.parametrize("name", ["NVIDIA_TESLA_T4", "TPU_V3", "gpu", "nvidia.com/"])
def test_vertex_machine_names_are_not(name):
    spec = _spec()
    container = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    container["resources"] = {"accelerator": {"type": name, "count": "1"}}
    (refused,) = oss_refusals(spec)
    assert f"invalid resource name {name!r}: must be a standard resource type or fully " in (
        refused
    )
