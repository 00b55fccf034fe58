"""`robustfx kfp schedule` against a local stand-in for the KFP v2beta1 API: exact requests,
one recurring run however often it is called, clear errors, validation before sending."""

import json

import pytest

from robustfx.cli import commands
from robustfx.cli import main as cli
from tests.helpers.fake_kfp import FakeKfp


def _schedule(spec_path, host, *flags):
    return cli.main(
        [
            "kfp",
            "schedule",
            "--spec",
            str(spec_path),
            "--host",
            host,
            "--token",
            "secret-token",
            *flags,
        ]
    )


def test_schedule_uploads_and_creates_a_recurring_run(spec, capsys):
    path, job = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, "--cron", "0 2 * * *", "--experiment", "nightly") == 0
    calls = [(method, route) for method, route, *_ in kfp.requests]
    assert ("POST", "/apis/v2beta1/pipelines/upload") in calls
    upload = next(r for r in kfp.requests if r[1] == "/apis/v2beta1/pipelines/upload")
    assert upload[2] == {"name": "robustfx"}
    assert b'"pipelineInfo": {"name": "robustfx-mnist-5k"}' in upload[4]
    experiment = next(r for r in kfp.requests if r[:2] == ("POST", "/apis/v2beta1/experiments"))
    assert json.loads(experiment[4])["display_name"] == "nightly"
    run = next(r for r in kfp.requests if r[:2] == ("POST", "/apis/v2beta1/recurringruns"))
    body = json.loads(run[4])
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 2 * * *"
    # The recurring run points at the uploaded version (whose spec is the compiled one).
    assert body["pipeline_version_reference"] == {
        "pipeline_id": "pipeline-1",
        "pipeline_version_id": "version-1",
    }
    upload_body = upload[4].decode(errors="replace")
    assert json.dumps(job["pipelineSpec"]["root"])[:40] in upload_body
    assert body["runtime_config"]["pipeline_root"] == "gs://bucket/root"
    assert body["mode"] == "ENABLE"
    for request in kfp.requests:
        headers = {key.lower(): value for key, value in request[3].items()}
        assert headers["authorization"] == "Bearer secret-token"
    assert "recurring run recurring-" in capsys.readouterr().out


def test_scheduling_twice_leaves_one_recurring_run_on_the_new_version(spec, capsys):
    path, _ = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, "--cron", "0 2 * * *") == 0
        (first,) = kfp.recurring_runs
        assert _schedule(path, kfp.url, "--cron", "0 3 * * *") == 0
    (run,) = kfp.recurring_runs.values()  # one schedule, never two racing on one root
    assert run["recurring_run_id"] != first
    assert run["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert run["pipeline_version_reference"]["pipeline_version_id"] == "version-2"
    deleted = [r for r in kfp.requests if r[0] == "DELETE"]
    assert [r[1] for r in deleted] == [f"/apis/v2beta1/recurringruns/{first}"]
    assert f"(replaced {first})" in capsys.readouterr().out.splitlines()[-1]


def test_existing_pipeline_gets_a_new_version(spec):
    path, _ = spec
    with FakeKfp(pipelines={"robustfx": "pipeline-7"}) as kfp:
        assert _schedule(path, kfp.url) == 0
    routes = [route for _, route, *_ in kfp.requests]
    assert "/apis/v2beta1/pipelines/upload" not in routes
    version = next(r for r in kfp.requests if r[1] == "/apis/v2beta1/pipelines/upload_version")
    assert version[2]["pipelineid"] == "pipeline-7"


@pytest.mark.parametrize(
    "status, message",
    [(401, "refused the credentials"), (404, "has no such API"), (500, "HTTP 500")],
)
def test_server_errors_give_a_clear_message(spec, capsys, status, message):
    path, _ = spec
    with FakeKfp(fail_with=status) as kfp:
        assert _schedule(path, kfp.url) == commands.EXIT_FAILED
    assert message in capsys.readouterr().err


def test_unreachable_host(spec, capsys):
    path, _ = spec
    assert _schedule(path, "http://127.0.0.1:9") == commands.EXIT_FAILED
    assert "cannot reach KFP at http://127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--cron", "61 2 * * *"], "value 61 is outside [0, 59]"),
        (["--cron", "every night"], "must have 5 or 6 fields"),
        (["--cron", "0 0 3 * * FUNDAY"], "'FUNDAY' is not valid"),
    ],
)
def test_bad_cron_is_rejected_before_anything_is_sent(spec, capsys, flags, message):
    path, _ = spec
    with FakeKfp() as kfp:
        assert _schedule(path, kfp.url, *flags) == commands.EXIT_USAGE
    assert kfp.requests == []
    assert message in capsys.readouterr().err
