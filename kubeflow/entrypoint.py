"""The command of every container task of the compiled pipeline: TFX's KFP v2 entrypoint with
the project's object storage.

    python -m robustfx.kubeflow.entrypoint --executor_class_path CLASS \\
        --json_serialized_invocation_args {{$}} [BEAM ARGS...]

It takes the stock entrypoint's arguments
(``tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor``) and runs its ``main``,
after three things:

- ``s3://`` is enabled when the task's ExecutorInput or Beam arguments name an object store,
  with the endpoint and keys from the standard ``AWS_*`` variables (on a cluster, from the
  Kubernetes secret the compiled task names).
- Artifact URIs under open-source KFP's default root, ``minio://BUCKET/...``, reach the
  executor as ``s3://BUCKET/...``: the same objects, through the S3 API of the MinIO
  service, since no client opens ``minio://``. The ExecutorOutput names them ``minio://``
  again: KFP's launcher adopts the URIs it finds there, then uploads and records each output
  under its default bucket, which an ``s3://`` URI would not match.
- Outputs declared with KFP's ``system.Metrics`` and ``system.HTML`` types (the verdict in the
  KFP UI) reach TFX under TFX's own types (``ui_artifacts``).
- The process ends with the executor's status (0 after success; 1, with the traceback,
  after a failure), never with the abort of tensorflow-io's S3 filesystem at exit
  (``base.remote_storage``).
"""

import json
from typing import Dict, Tuple

from robustfx.base import remote_storage
from robustfx.kubeflow import ui_artifacts

UriMapping = Dict[str, str]  # s3:// URI handed to the executor -> the URI KFP gave


def _artifact_lists(document: dict, side: str):
    for artifact_list in document.get(side, {}).get("artifacts", {}).values():
        yield from artifact_list.get("artifacts", [])


def to_s3_uris(executor_input: dict) -> Tuple[dict, UriMapping]:
    """The ExecutorInput with every ``minio://`` artifact URI as ``s3://``, and the mapping
    back. Parameters (paths a person gave) are left as they are."""
    mapped = json.loads(json.dumps(executor_input))
    back = {}
    for side in ("inputs", "outputs"):
        for artifact in _artifact_lists(mapped, side):
            uri = artifact.get("uri", "")
            if uri.startswith(remote_storage.MINIO_SCHEME):
                artifact["uri"] = remote_storage.to_s3(uri)
                back[artifact["uri"]] = uri
    return mapped, back


def restore_uris(executor_output: dict, back: UriMapping) -> dict:
    """The ExecutorOutput with each artifact URI that ``to_s3_uris`` mapped named as KFP
    named it."""
    restored = json.loads(json.dumps(executor_output))
    for artifact_list in restored.get("artifacts", {}).values():
        for artifact in artifact_list.get("artifacts", []):
            artifact["uri"] = back.get(artifact.get("uri", ""), artifact.get("uri", ""))
    return restored


def _run(parsed: tuple) -> None:
    from tfx.dsl.io import fileio
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

    args, beam_args = parsed
    remote_storage.enable([args.json_serialized_invocation_args, *beam_args])
    executor_input, back = to_s3_uris(json.loads(args.json_serialized_invocation_args))
    executor_input = ui_artifacts.as_tfx_types(executor_input)
    args.json_serialized_invocation_args = json.dumps(executor_input)
    kubeflow_v2_run_executor.main((args, beam_args))
    output_file = executor_input["outputs"]["outputFile"]
    if back and fileio.exists(output_file):
        with fileio.open(output_file) as f:
            output = restore_uris(json.loads(f.read()), back)
        with fileio.open(output_file, "w") as f:
            f.write(json.dumps(output))


def main() -> None:
    """Parses the stock entrypoint's command line with its own parser and runs the task."""
    from absl import app
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

    app.run(_run, flags_parser=kubeflow_v2_run_executor._parse_flags)


if __name__ == "__main__":
    main()
