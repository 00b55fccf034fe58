"""Compiles the one ``create_pipeline`` graph into a KFP v2 pipeline spec (JSON).

Uses TFX's ``KubeflowV2DagRunner`` (the KFP v1 runner is gone from TFX 1.16). The container
image runs the project installed as a package, so the spec refers to model code by dotted path
(``robustfx.trainer.run.run_fn``), never by a file that must be copied along.
"""

import dataclasses
import json
import os
import re

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import v1 as tfx
from tfx.components.evaluator import constants as evaluator_constants

from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.components.robustness_evaluator.spec import ROBUSTNESS_BLESSED_PROPERTY
from robustfx.data.metadata import DatasetInfo
from robustfx.kubeflow.config import AcceleratorConfig, KubeflowConfig
from robustfx.kubeflow.vertex_trainer import run_on_vertex
from robustfx.pipeline.production import TRAINER_ID, create_pipeline

_ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def trainer_resources(accelerator: AcceleratorConfig) -> _ResourceSpec:
    """The Trainer pod's ResourceSpec (vCPU, memory, and GPU/TPU type and count)."""
    spec = _ResourceSpec(cpu_limit=accelerator.cpu_limit, memory_limit=accelerator.memory_limit)
    if accelerator.kind != "none":
        spec.accelerator.type = accelerator.type
        spec.accelerator.count = accelerator.count
    return spec


def compile_pipeline(
    config: RunConfig, dataset: DatasetInfo, kubeflow: KubeflowConfig, output_path: str
) -> str:
    """Writes the KFP v2 pipeline spec for ``config`` to ``output_path``; returns the path.

    Args:
      config: the run config; its paths are replaced by the cluster paths of ``kubeflow``.
      dataset: the dataset's metadata, read from a local copy; the pipeline reads the shards
        from the same dataset under ``kubeflow.data_dir``.
      kubeflow: image, remote paths, Beam runner and Trainer resources.
      output_path: where the JSON goes.
    """
    remote_dataset = dataclasses.replace(
        dataset,
        directory="/".join([kubeflow.data_dir.rstrip("/"), dataset.name, dataset.version]),
    )
    cluster_config = dataclasses.replace(
        config,
        pipeline_root=kubeflow.pipeline_root,
        serving_dir=kubeflow.serving_dir,
        data=DataConfig(
            dataset=config.data.dataset, data_dir=kubeflow.data_dir, resize=config.data.resize
        ),
        beam_args=kubeflow.beam.args(kubeflow.image),
    )
    pipeline = create_pipeline(cluster_config, remote_dataset)
    for component in pipeline.components:
        if component.id == TRAINER_ID:
            component.with_platform_config(trainer_resources(kubeflow.accelerator))
            if kubeflow.trainer_replicas.replicas > 1:
                run_on_vertex(component, kubeflow)
    output_dir, filename = os.path.split(os.path.abspath(output_path))
    os.makedirs(output_dir, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        # Pipeline spec 2.1: parameters as ``runtimeValue.constant`` with a ``parameterType``,
        # which KFP's v2 driver reads (2.0's ``constantValue`` it refuses), and each task's
        # inputs spec passed to TFX's entrypoint, which then reads ``parameterValues``.
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=kubeflow.image, use_pipeline_spec_2_1=True
        ),
        output_dir=output_dir,
        output_filename=filename,
    )
    job = runner.run(pipeline, write_out=False)
    restrict_baseline_to_robustness_blessings(job)
    find_baseline_model_by_uri(job)
    path = os.path.join(output_dir, filename)
    with open(path, "w") as f:
        json.dump(job, f, indent=2, sort_keys=True)
    return path


def restrict_baseline_to_robustness_blessings(job: dict) -> int:
    """Makes the compiled baseline resolver accept only the RobustnessEvaluator's blessings.

    TFX's KFP v2 step builder compiles ``LatestBlessedModelStrategy`` to an artifact query on
    the ModelBlessing type with ``blessed=1``: it drops the channel's producer, so TFMA's
    blessing of a candidate that the RobustnessEvaluator refused would qualify. Only the
    RobustnessEvaluator sets the ``robustness_blessed`` property, so requiring it too leaves
    its blessings alone. Returns how many queries were changed (the tests expect one).
    """
    changed = 0
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    for executor in executors.values():
        queries = executor.get("resolver", {}).get("outputArtifactQueries", {})
        for query in queries.values():
            if 'schema_title="tfx.ModelBlessing"' in query["filter"]:
                query["filter"] += f" AND metadata.{ROBUSTNESS_BLESSED_PROPERTY}.number_value=1"
                changed += 1
    return changed


_MODEL_BY_ID = re.compile(
    r"name=\"\{\{\$\.inputs\.artifacts\['(?P<input>[^']+)'\]\.metadata\['"
    + evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY
    + r"'\]\}\}\""
)


def find_baseline_model_by_uri(job: dict) -> int:
    """Makes the compiled baseline model query find the blessed model by its URI.

    TFX compiles the second half of ``LatestBlessedModelStrategy`` to a query on the Model
    type by ``name="{{$.inputs.artifacts['input'].metadata['current_model_id']}}"``. TFX's
    container entrypoint turns a blessing's ``current_model_id`` into the model's runtime name
    only for TFMA's Evaluator; the RobustnessEvaluator's blessing carries the integer id TFX
    gives the model inside a task (a hash of that name), which names no artifact, so every
    run went without a baseline. Its ``current_model`` property is the model's URI, which KFP
    records on the artifact: the query matches that. Returns how many queries were changed.
    """
    uri_clause = (
        "uri=\"{{$.inputs.artifacts['\\g<input>'].metadata['"
        + evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY
        + "']}}\""
    )
    changed = 0
    for executor in job["pipelineSpec"]["deploymentSpec"]["executors"].values():
        for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values():
            query["filter"], count = _MODEL_BY_ID.subn(uri_clause, query["filter"])
            changed += count
    return changed
