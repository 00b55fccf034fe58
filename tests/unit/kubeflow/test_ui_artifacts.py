"""The verdict's KFP UI artifacts: declared with KFP's system types, handed to TFX as its own."""

from robustfx.kubeflow.ui_artifacts import as_tfx_types, declare_system_types, type_title


def _job():
    outputs = {
        "metrics": {"artifactType": {"instanceSchema": "title: tfx.Metrics\ntype: object\n"}},
        "report": {"artifactType": {"instanceSchema": "title: tfx.File\ntype: object\n"}},
        "blessing": {"artifactType": {"instanceSchema": "title: tfx.ModelBlessing\n"}},
    }
    return {
        "pipelineSpec": {
            "root": {"dag": {"tasks": {"RobustnessEvaluator": {"componentRef": {"name": "E"}}}}},
            "components": {"E": {"outputDefinitions": {"artifacts": outputs}}},
        }
    }


def test_the_evaluators_ui_outputs_are_declared_with_kfps_system_types():
    job = _job()
    assert declare_system_types(job) == 2
    outputs = job["pipelineSpec"]["components"]["E"]["outputDefinitions"]["artifacts"]
    assert outputs["metrics"]["artifactType"] == {"schemaTitle": "system.Metrics",
                                                  "schemaVersion": "0.0.1"}  # fmt: skip
    assert outputs["report"]["artifactType"]["schemaTitle"] == "system.HTML"
    assert type_title(outputs["blessing"]["artifactType"]) == "tfx.ModelBlessing"


def _output(uri, artifact_type):
    return {"artifacts": [{"uri": uri, "type": artifact_type}]}


def test_the_entrypoint_hands_them_to_tfx_under_its_own_types():
    outputs = {
        "metrics": _output("s3://b/m", {"schemaTitle": "system.Metrics"}),
        "report": _output("s3://b/r", {"schemaTitle": "system.HTML"}),
        "blessing": _output("s3://b/b", {"instanceSchema": "title: tfx.ModelBlessing"}),
    }
    executor_input = {"outputs": {"artifacts": outputs}}
    mapped = as_tfx_types(executor_input)["outputs"]["artifacts"]
    types = {key: type_title(listed["artifacts"][0]["type"]) for key, listed in mapped.items()}
    assert types == {
        "metrics": "tfx.Metrics",
        "report": "tfx.File",
        "blessing": "tfx.ModelBlessing",
    }
    assert outputs["metrics"]["artifacts"][0]["type"] == {"schemaTitle": "system.Metrics"}
