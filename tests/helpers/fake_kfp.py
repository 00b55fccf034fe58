"""A small stand-in for the KFP v2beta1 REST API on 127.0.0.1, recording every request."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeKfp:
    """Answers the endpoints `kfp.Client` calls to upload and schedule a pipeline.

    Attributes:
      requests: (method, path, query dict, headers dict, body bytes) in arrival order.
      fail_with: when set, every request is answered with this HTTP status.
      pipelines: name -> id of pipelines that already exist.
      recurring_runs: id -> the recurring runs that exist (created and not deleted).
    """

    def __init__(self, fail_with=None, pipelines=None):
        self.requests = []
        self.fail_with = fail_with
        self.pipelines = dict(pipelines or {})
        self.recurring_runs = {}
        self._counter = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method):
                url = urllib.parse.urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.requests.append((method, url.path, query, dict(self.headers), body))
                if fake.fail_with:
                    return self._answer(fake.fail_with, {"error": "nope", "code": 1})
                return self._answer(200, fake.route(method, url.path, query, body))

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_DELETE(self):
                self._handle("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, method, path, query, body):
        if method == "GET" and path == "/apis/v2beta1/pipelines":
            name = json.loads(query.get("filter", "{}")).get("predicates", [{}])[0]
            name = name.get("string_value") or name.get("stringValue")
            if name in self.pipelines:
                return {
                    "pipelines": [{"pipeline_id": self.pipelines[name], "display_name": name}],
                    "total_size": 1,
                }
            return {"pipelines": [], "total_size": 0}
        if method == "POST" and path == "/apis/v2beta1/pipelines/upload":
            self.pipelines[query.get("name")] = "pipeline-1"
            return {"pipeline_id": "pipeline-1", "display_name": query.get("name")}
        if method == "GET" and path.endswith("/versions"):
            return {"pipeline_versions": [{"pipeline_version_id": "version-1"}], "total_size": 1}
        if method == "POST" and path == "/apis/v2beta1/pipelines/upload_version":
            self._counter += 1
            version = f"version-{self._counter + 1}"
            return {"pipeline_id": query.get("pipelineid"), "pipeline_version_id": version}
        if method == "GET" and path == "/apis/v2beta1/experiments":
            return {"experiments": [], "total_size": 0}
        if method == "POST" and path == "/apis/v2beta1/experiments":
            return {"experiment_id": "experiment-1", **json.loads(body)}
        if method == "POST" and path == "/apis/v2beta1/recurringruns":
            run = {"recurring_run_id": f"recurring-{len(self.requests)}", **json.loads(body)}
            self.recurring_runs[run["recurring_run_id"]] = run
            return run
        if method == "GET" and path == "/apis/v2beta1/recurringruns":
            runs = [
                r
                for r in self.recurring_runs.values()
                if r.get("experiment_id") == query.get("experiment_id")
            ]
            return {"recurringRuns": runs, "total_size": len(runs)}
        if method == "DELETE" and path.startswith("/apis/v2beta1/recurringruns/"):
            self.recurring_runs.pop(path.rsplit("/", 1)[-1], None)
            return {}
        return {}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
