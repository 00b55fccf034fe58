"""Uploads a compiled pipeline spec to Kubeflow Pipelines and schedules a recurring run.

Talks to the KFP v2beta1 REST API through the ``kfp`` 2 client: the spec is uploaded as a new
pipeline, or as a new version when a pipeline of that name exists; then one recurring run of
that name in the experiment points at that version with the cron schedule. Scheduling again
replaces the earlier recurring run of the same name (created first, then the old one deleted),
so there is never more than one.
"""

import dataclasses
import datetime
import json
import os
import tempfile
import urllib.error
import urllib.request
from typing import List, Optional

from robustfx.base.validation import ConfigError
from robustfx.kubeflow.config import ScheduleConfig


class ScheduleError(RuntimeError):
    """The KFP server refused or could not be reached."""


@dataclasses.dataclass(frozen=True)
class ScheduleResult:
    pipeline_id: str
    version_id: Optional[str]
    experiment_id: str
    recurring_run_id: str
    cron: str
    replaced: List[str] = dataclasses.field(default_factory=list)  # recurring runs it replaced


def _describe(error: Exception, host: str) -> str:
    status = getattr(error, "status", None)
    if status == 401 or status == 403:
        return (
            f"KFP at {host} refused the credentials (HTTP {status}): pass --token or set "
            "KF_PIPELINES_TOKEN"
        )
    if status == 404:
        return f"KFP at {host} has no such API (HTTP 404): check --host (and its path prefix)"
    if status is not None:
        reason = getattr(error, "reason", "") or ""
        return f"KFP at {host} failed with HTTP {status} {reason}".strip()
    return f"cannot reach KFP at {host}: {error}"


def schedule(spec_path: str, config: ScheduleConfig) -> ScheduleResult:
    """Uploads ``spec_path`` and creates the recurring run.

    Raises:
      ConfigError: the spec file is missing or not a pipeline spec.
      ScheduleError: the server answered with an error or could not be reached.
    """
    job = read_pipeline_job(spec_path)
    _preflight(config)
    with tempfile.TemporaryDirectory(prefix="robustfx-kfp-") as scratch:
        # The kfp client takes packages named .yaml; JSON is valid YAML. The platform spec
        # (open-source KFP's Kubernetes settings: the object store's secret) is the second
        # YAML document of the package, as kfp-kubernetes writes it.
        package = os.path.join(scratch, f"{config.pipeline_name}.yaml")
        with open(package, "w") as f:
            json.dump(job["pipelineSpec"], f)
            if job.get("platformSpec"):
                f.write("\n---\n")
                json.dump(job["platformSpec"], f)
        return _upload_and_schedule(
            package, job.get("runtimeConfig", {}).get("gcsOutputDirectory"), config
        )


def read_pipeline_job(spec_path: str) -> dict:
    """Reads what ``robustfx kfp compile`` wrote: a PipelineJob with its ``pipelineSpec``."""
    if not os.path.isfile(spec_path):
        raise ConfigError(f"compiled spec {spec_path!r} does not exist: run `robustfx kfp compile`")
    try:
        with open(spec_path) as f:
            job = json.load(f)
    except ValueError as error:
        raise ConfigError(f"compiled spec {spec_path!r} is not JSON: {error}") from None
    if not isinstance(job, dict) or "pipelineSpec" not in job:
        raise ConfigError(f"{spec_path!r} is not a compiled pipeline (no pipelineSpec)")
    return job


def _preflight(config: ScheduleConfig) -> None:
    """One direct call to the health endpoint, so that a refusal or a wrong host is reported
    with its HTTP status at once, instead of after the kfp client's retries."""
    request = urllib.request.Request(f"{config.host.rstrip('/')}/apis/v2beta1/healthz")
    if config.token:
        request.add_header("Authorization", f"Bearer {config.token}")
    try:
        with urllib.request.urlopen(request, timeout=15):
            pass
    except urllib.error.HTTPError as error:  # carries .status
        raise ScheduleError(_describe(error, config.host)) from None
    except (urllib.error.URLError, OSError) as error:
        raise ScheduleError(_describe(error, config.host)) from None


def _upload_and_schedule(
    package: str, pipeline_root: Optional[str], config: ScheduleConfig
) -> ScheduleResult:
    spec_path = package

    import kfp
    import urllib3
    from kfp_server_api.exceptions import ApiException

    try:
        client = kfp.Client(
            host=config.host, namespace=config.namespace, existing_token=config.token
        )
        pipeline_id = client.get_pipeline_id(config.pipeline_name)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(
                spec_path, pipeline_name=config.pipeline_name
            ).pipeline_id
            version_id = _newest_version(client, pipeline_id)
        else:
            version_id = client.upload_pipeline_version(
                spec_path,
                pipeline_version_name=f"{config.pipeline_name}-{stamp}",
                pipeline_id=pipeline_id,
            ).pipeline_version_id
        experiment = client.create_experiment(config.experiment, namespace=config.namespace)
        earlier = _recurring_runs_named(client, experiment.experiment_id, config.job_name)
        recurring = client.create_recurring_run(
            experiment_id=experiment.experiment_id,
            job_name=config.job_name,
            cron_expression=config.cron,
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=pipeline_root,
            enabled=True,
        )
        # The new schedule exists: now retire the ones it replaces, so one pipeline root is
        # never raced by two schedules.
        for run in earlier:
            client.delete_recurring_run(run.recurring_run_id)
    except (
        ApiException,
        urllib3.exceptions.HTTPError,
        OSError,
    ) as error:
        raise ScheduleError(_describe(error, config.host)) from None
    return ScheduleResult(
        pipeline_id=pipeline_id,
        version_id=version_id,
        experiment_id=experiment.experiment_id,
        recurring_run_id=recurring.recurring_run_id,
        cron=config.cron,
        replaced=[run.recurring_run_id for run in earlier],
    )


def _newest_version(client, pipeline_id: str) -> Optional[str]:
    """The pipeline's newest version (a new pipeline has exactly one)."""
    response = client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
    versions = response.pipeline_versions or []
    return versions[0].pipeline_version_id if versions else None


def _recurring_runs_named(client, experiment_id: str, name: str) -> list:
    """Every recurring run of the experiment with that display name, all pages."""
    found, token = [], ""
    while True:
        response = client.list_recurring_runs(
            page_token=token, page_size=100, experiment_id=experiment_id
        )
        found += [r for r in response.recurring_runs or [] if r.display_name == name]
        token = response.next_page_token
        if not token:
            return found
