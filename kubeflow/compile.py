"""Compiles the one ``create_pipeline`` graph into a KFP v2 pipeline spec (JSON), for
open-source Kubeflow Pipelines (``--target oss``) or Vertex AI Pipelines (``vertex``).

Uses TFX's ``KubeflowV2DagRunner`` (the KFP v1 runner is gone from TFX 1.16). The container
image runs the project installed as a package, so the spec refers to model code by dotted path
(``robustfx.trainer.run.run_fn``), never by a file that must be copied along. Both targets get
only container tasks (production is found by the ProductionModel component, not a resolver),
the project's entrypoint (which reaches S3 and exits cleanly), and no cache for the tasks
that must look at the world afresh: the ingest (open-source KFP ignores the span check that
Vertex runs for ImportExampleGen, ``lifecycle.preCacheCheck``) and the production lookup.
"""

import dataclasses
import json
import os
from typing import Dict, List

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import v1 as tfx

from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.validation import ConfigError
from robustfx.components.production_model import spec as production_spec
from robustfx.data.metadata import DatasetInfo
from robustfx.kubeflow.config import AcceleratorConfig, KubeflowConfig, ObjectStoreConfig
from robustfx.kubeflow.oss_rules import oss_refusals
from robustfx.kubeflow.ui_artifacts import declare_system_types
from robustfx.kubeflow.vertex_trainer import run_on_vertex
from robustfx.pipeline.production import (
    EXAMPLE_GEN_ID,
    PRODUCTION_MODEL_ID,
    TRAINER_ID,
    create_pipeline,
)

_ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec
TFX_ENTRYPOINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
# TFX's entrypoint, with remote storage enabled first and a clean exit (see the module).
PROJECT_ENTRYPOINT = "robustfx.kubeflow.entrypoint"
# Tasks that must run every time: what they read changes without their inputs changing.
NEVER_CACHED = (EXAMPLE_GEN_ID, PRODUCTION_MODEL_ID)
# The object store's credentials, from the user's Kubernetes secret, as the same variables.
SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


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
      kubeflow: image, remote paths, the object store and Trainer resources (the Beam runner
        is ``config.beam``'s, as for a local run).
      output_path: where the JSON goes.

    Raises:
      ConfigError: the compiled spec breaks a rule of its target platform (nothing written).
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
    )
    beam_args = list(config.beam.cluster_args(kubeflow.image))
    pipeline = create_pipeline(cluster_config, remote_dataset, beam_pipeline_args=beam_args)
    for component in pipeline.components:
        if component.id == TRAINER_ID:
            component.with_platform_config(trainer_resources(kubeflow.accelerator))
            if kubeflow.trainer_replicas.replicas > 1:  # --target vertex only (config checks)
                run_on_vertex(component, kubeflow)
        if component.id == PRODUCTION_MODEL_ID:  # the same spec every night: no cache instead
            component.exec_properties[production_spec.LOOKUP_KEY] = ""
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
    finish_spec(job, kubeflow)
    path = os.path.join(output_dir, filename)
    with open(path, "w") as f:
        json.dump(job, f, indent=2, sort_keys=True)
    return path


def never_cache(job: dict, task_names=NEVER_CACHED) -> List[str]:
    """Turns caching off for ``task_names``; returns the tasks changed. A later task still
    comes from the cache when its inputs are the same artifacts as before."""
    changed = []
    for name, task in job["pipelineSpec"]["root"]["dag"]["tasks"].items():
        if name in task_names:
            task["cachingOptions"] = {"enableCache": False}
            changed.append(name)
    return changed


def containers(job: dict) -> Dict[str, dict]:
    """Executor label -> container spec, for every container executor."""
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    return {label: e["container"] for label, e in executors.items() if "container" in e}


def use_project_entrypoint(job: dict) -> int:
    """Every task runs the project's entrypoint in place of TFX's; returns how many."""
    changed = 0
    for container in containers(job).values():
        for key in ("command", "args"):
            parts = container.get(key) or []
            if TFX_ENTRYPOINT in parts:
                parts[parts.index(TFX_ENTRYPOINT)] = PROJECT_ENTRYPOINT
                changed += 1
    return changed


def add_environment(job: dict, env: Dict[str, str]) -> None:
    """Sets plain environment variables on every container."""
    for container in containers(job).values():
        listed = [e for e in container.get("env") or [] if e["name"] not in env]
        container["env"] = listed + [{"name": k, "value": v} for k, v in sorted(env.items())]


def secret_platform_spec(job: dict, secret: str) -> dict:
    """KFP's Kubernetes platform spec (kfp-kubernetes' ``use_secret_as_env``): every
    container task reads ``SECRET_KEYS`` from the secret ``secret`` into the same names."""
    key_to_env = [{"secretKey": key, "envVar": key} for key in SECRET_KEYS]
    executors = {
        label: {"secretAsEnv": [{"secretName": secret, "keyToEnv": key_to_env}]}
        for label in sorted(containers(job))
    }
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": executors}}}}


def finish_spec(job: dict, kubeflow: KubeflowConfig) -> None:
    """What both targets need after TFX's compiler, then the target's own rules.

    Raises:
      ConfigError: the spec breaks a rule of open-source KFP (``oss_rules``).
    """
    never_cache(job)
    use_project_entrypoint(job)
    declare_system_types(job)
    storage: ObjectStoreConfig = kubeflow.storage
    add_environment(job, storage.environment())
    if kubeflow.target != "oss":
        return
    if storage.secret:
        job["platformSpec"] = secret_platform_spec(job, storage.secret)
    refused = oss_refusals(job["pipelineSpec"])
    if refused:
        raise ConfigError(
            "open-source KFP would refuse this spec: "
            + "; ".join(refused)
            + " (compile with --target vertex for Vertex AI Pipelines)"
        )
