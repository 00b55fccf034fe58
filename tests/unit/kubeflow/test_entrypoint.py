"""The container entrypoint's URI mapping: the executor sees s3://, the launcher its own
minio:// URIs, and nothing else changes."""

from robustfx.kubeflow.entrypoint import restore_uris, to_s3_uris

ROOT = "minio://mlpipeline/v2/artifacts/robustfx/run-1"


def _list(*uris):
    return {"artifacts": [{"uri": uri, "metadata": {"split_names": '["train"]'}} for uri in uris]}


EXECUTOR_INPUT = {
    "inputs": {
        "artifacts": {
            "examples": _list(f"{ROOT}/ImportExampleGen/examples"),
            "model": _list("s3://models/imported/1"),  # an importer's URI, given by a person
        },
        "parameterValues": {"serving_dir": "minio://mlpipeline/serving"},
    },
    "outputs": {
        "artifacts": {"statistics": _list(f"{ROOT}/StatisticsGen/statistics")},
        "outputFile": "/tmp/kfp_outputs/output_metadata.json",
    },
}


def test_artifact_uris_under_minio_reach_the_executor_as_s3():
    mapped, back = to_s3_uris(EXECUTOR_INPUT)
    inputs, outputs = mapped["inputs"]["artifacts"], mapped["outputs"]["artifacts"]
    examples = "s3://mlpipeline/v2/artifacts/robustfx/run-1/ImportExampleGen/examples"
    statistics = "s3://mlpipeline/v2/artifacts/robustfx/run-1/StatisticsGen/statistics"
    assert inputs["examples"]["artifacts"][0]["uri"] == examples
    assert outputs["statistics"]["artifacts"][0]["uri"] == statistics
    assert inputs["model"]["artifacts"][0]["uri"] == "s3://models/imported/1"
    assert back == {
        examples: f"{ROOT}/ImportExampleGen/examples",
        statistics: f"{ROOT}/StatisticsGen/statistics",
    }


def test_parameters_metadata_and_the_output_file_are_unchanged():
    mapped, _ = to_s3_uris(EXECUTOR_INPUT)
    assert mapped["inputs"]["parameterValues"] == EXECUTOR_INPUT["inputs"]["parameterValues"]
    assert mapped["outputs"]["outputFile"] == EXECUTOR_INPUT["outputs"]["outputFile"]
    assert mapped["inputs"]["artifacts"]["examples"]["artifacts"][0]["metadata"] == {
        "split_names": '["train"]'
    }
    assert EXECUTOR_INPUT["inputs"]["artifacts"]["examples"]["artifacts"][0]["uri"].startswith(
        "minio://"
    )


def test_the_executor_output_names_the_launchers_uris_again():
    mapped, back = to_s3_uris(EXECUTOR_INPUT)
    statistics = mapped["outputs"]["artifacts"]["statistics"]["artifacts"][0]["uri"]
    output = {
        "artifacts": {
            "statistics": {"artifacts": [{"uri": statistics, "metadata": {"span": 0}}]},
            "other": {"artifacts": [{"uri": "s3://elsewhere/x"}]},
        }
    }
    restored = restore_uris(output, back)
    assert restored["artifacts"]["statistics"]["artifacts"] == [
        {"uri": f"{ROOT}/StatisticsGen/statistics", "metadata": {"span": 0}}
    ]
    assert restored["artifacts"]["other"]["artifacts"] == [{"uri": "s3://elsewhere/x"}]


def test_local_and_s3_roots_pass_through_unchanged():
    executor_input = {"outputs": {"artifacts": {"a": _list("s3://b/root/a", "/local/root/a")}}}
    mapped, back = to_s3_uris(executor_input)
    assert mapped == executor_input and back == {}
