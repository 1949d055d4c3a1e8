#!/usr/bin/env python3
"""openapi.yaml held to the real controller by a validating proxy no one here wrote: Stoplight's Prism.

Starts scripts/run.sh (controller, two agents, their web servers) in a directory of its own, puts
`prism proxy openapi.yaml https://127.0.0.1:8080` in front of the controller, and sends through it the
quickstart's calls, the door's refusals and each role's calls. Prism checks every request and every answer
against openapi.yaml and says what does not match in an `sl-violations` header; any violation, or any
status other than the one the call expects, fails the test.

Usage: prism_test.py REPO CERTDEPLOY_BINARY   (PRISM_TEST_KEEP=1 keeps the directory it ran in)
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "readme"))
from readme_test import (PORTS, port_in_use, servers_reachable, start_run_command,  # noqa: E402  (one way to start run.sh)
                         stop_process_group, wait_for)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Traffic:
    """Calls through Prism; each is checked for violations and for the status it expects."""

    def __init__(self, port):
        self.port, self.failures, self.calls = port, [], 0

    def call(self, what, method, path, expect, token=None, body=None, content_type=None, headers=None, code=None,
             refused_request=None):
        """`code`: the problem's code expected. `refused_request`: the request violation Prism must report
        for a call that is wrong on purpose (no token at all); any other violation fails."""
        self.calls += 1
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = "Bearer " + token
        if body is not None and content_type is None:
            body, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            sent["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=sent)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        violations = json.loads(res.getheader("sl-violations") or "[]")
        problems = []
        unexpected = [v for v in violations
                      if not (refused_request and v.get("location", [None])[0] == "request"
                              and refused_request in v.get("message", ""))]
        if unexpected:
            problems.append("openapi.yaml violated: " + json.dumps(unexpected))
        if refused_request and len(unexpected) == len(violations):
            problems.append("Prism did not report the request as violating: " + refused_request)
        if res.status != expect:
            problems.append("status %d, expected %d" % (res.status, expect))
        kind = res.getheader("Content-Type") or ""
        answer = json.loads(data) if "json" in kind and data else data
        if code is not None and (not isinstance(answer, dict) or answer.get("code") != code):
            problems.append("code %r, expected %r" % (answer.get("code") if isinstance(answer, dict) else None, code))
        if problems:
            self.failures.append("%s (%s %s): %s\n--- body\n%s" % (
                what, method, path, "; ".join(problems), data[:2000].decode("utf-8", "replace")))
        return answer

    def form(self, what, path, fields, expect, token, code=None):
        """multipart/form-data: fields are (name, value bytes, filename or None)."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value, filename in fields:
            disposition = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
            kind = "application/x-pem-file" if filename else "text/plain"
            parts.append(b"--%s\r\nContent-Disposition: %s\r\nContent-Type: %s\r\n\r\n%s\r\n" % (
                boundary.encode(), disposition.encode(), kind.encode(), value))
        body = b"".join(parts) + b"--%s--\r\n" % boundary.encode()
        return self.call(what, "POST", path, expect, token=token, body=body,
                         content_type="multipart/form-data; boundary=" + boundary, code=code)


def wait_job(traffic, job, token):
    deadline = time.time() + 60
    while time.time() < deadline:
        answer = traffic.call("job " + job, "GET", "/v1/jobs/" + job, 200, token=token)
        if not isinstance(answer, dict) or answer.get("state") in ("succeeded", "failed", "cancelled"):
            return answer
        time.sleep(0.3)
    raise AssertionError("job %s did not end within 60 s" % job)


def pem_bundle(run_dir):
    """The run command's Fabrikam.pfx as a PEM file: its certificates and its key, encrypted (PKCS #8) with
    the same password. Prism's proxy passes multipart bodies on as text, which damages a binary PFX on the
    way ("the file is truncated"), so the import goes through it as PEM; the README test sends the PFX."""
    pfx = os.path.join(run_dir, "Fabrikam.pfx")
    # The password through the environment: never a command-line argument.
    env = dict(os.environ, PFX_PASSWORD=open(os.path.join(run_dir, "Fabrikam.password")).read().strip())
    certs = subprocess.run(["openssl", "pkcs12", "-in", pfx, "-passin", "env:PFX_PASSWORD", "-nokeys"],
                           capture_output=True, check=True, env=env).stdout
    key = subprocess.run(["openssl", "pkcs12", "-in", pfx, "-passin", "env:PFX_PASSWORD", "-nocerts", "-passout",
                          "env:PFX_PASSWORD"], capture_output=True, check=True, env=env).stdout
    return certs + key


def exercise(traffic, run_dir):
    admin = open(os.path.join(run_dir, "controller/admin.token")).read().strip()
    bundle = pem_bundle(run_dir)
    password = open(os.path.join(run_dir, "Fabrikam.password"), "rb").read().strip()
    t = traffic

    # The door: no token, an unknown one; /healthz needs none.
    t.call("health", "GET", "/healthz", 200)
    t.call("no token", "GET", "/v1/servers", 401, code="unauthenticated", refused_request="security")
    t.call("unknown token", "GET", "/v1/servers", 401, token="cdp_" + "A" * 43, code="unauthenticated")

    # Tokens for each role, and one scoped to the mailbox servers.
    t.call("register ex03", "PUT", "/v1/servers/ex03", 201, token=admin,
           body={"agentUrl": "https://10.0.0.13:9001", "labels": {"role": "edge"}})
    tokens = {}
    for name, role, scope in [("viewer", "viewer", None), ("operator", "operator", None),
                              ("mail-ci", "operator", {"role": "mailbox"})]:
        spec = {"name": name, "role": role, "expiresInDays": 1}
        if scope:
            spec["scope"] = scope
        made = t.call("make token " + name, "POST", "/v1/tokens", 201, token=admin, body=spec)
        tokens[name] = made["token"] if isinstance(made, dict) else ""
    t.call("list tokens", "GET", "/v1/tokens", 200, token=admin)
    t.call("token exists", "POST", "/v1/tokens", 409, token=admin, body={"name": "viewer", "role": "viewer"})

    # The quickstart: servers, a dry run, a refused password, the import, its job, the inventory.
    t.call("servers", "GET", "/v1/servers", 200, token=tokens["viewer"])
    t.call("one server", "GET", "/v1/servers/ex01", 200, token=tokens["viewer"])
    fields = [("file", bundle, "Fabrikam.pem"), ("password", password, None), ("servers", b"ex01,ex02", None)]
    t.form("viewer may not import", "/v1/imports", fields, 403, tokens["viewer"])
    t.form("dry run", "/v1/imports", fields + [("dryRun", b"true", None)], 200, tokens["operator"])
    plan = t.form("dry run of the file alone (the console's first step)", "/v1/imports",
                  fields[:2] + [("dryRun", b"true", None)], 200, tokens["operator"])
    if not (isinstance(plan, dict) and plan.get("servers") == []):
        t.failures.append("a dry run naming no server answers servers: [], got %r" % (plan,))
    t.form("a file with its key names its servers", "/v1/imports", fields[:2], 422, tokens["operator"],
           code="no-servers")
    for name, role, scope in [("viewer", "viewer", None), ("mail-ci", "operator", {"role": "mailbox"})]:
        who = t.call("whoami " + name, "GET", "/v1/whoami", 200, token=tokens[name])
        if who != {"name": name, "role": role, "scope": scope}:
            t.failures.append("whoami %s: %r" % (name, who))
    t.form("wrong password", "/v1/imports",
           [("file", bundle, "Fabrikam.pem"), ("password", b"not the password", None), ("servers", b"*", None)],
           422, tokens["operator"], code="wrong-password")
    t.form("scoped token outside its scope", "/v1/imports",
           [("file", bundle, "Fabrikam.pem"), ("password", password, None), ("servers", b"ex01,ex03", None)], 403,
           tokens["mail-ci"], code="out-of-scope")
    job = t.form("import", "/v1/imports", fields + [("privateKeyExportable", b"true", None)], 202, tokens["operator"])
    if not isinstance(job, dict) or "id" not in job:
        raise AssertionError("the import answered no job: %r" % (job,))
    thumbprint = job["thumbprint"]
    done = wait_job(t, job["id"], tokens["viewer"])
    if done.get("state") != "succeeded":
        t.failures.append("the import did not succeed: %r" % (done,))
    t.call("job events", "GET", "/v1/jobs/%s/events" % job["id"], 200, token=tokens["viewer"])
    t.call("jobs", "GET", "/v1/jobs?limit=5", 200, token=tokens["viewer"])
    t.call("no such job", "GET", "/v1/jobs/" + "0" * 32, 404, token=tokens["viewer"])
    t.call("inventory", "GET", "/v1/certificates", 200, token=tokens["viewer"])
    t.call("one server's certificates", "GET", "/v1/servers/ex01/certificates?status=Valid", 200,
           token=tokens["viewer"])
    t.call("one certificate", "GET", "/v1/servers/ex01/certificates/" + thumbprint, 200, token=tokens["viewer"])
    t.call("scoped token sees ex01", "GET", "/v1/servers/ex01", 200, token=tokens["mail-ci"])
    t.call("scoped token refused ex03", "GET", "/v1/servers/ex03", 403, token=tokens["mail-ci"], code="out-of-scope")

    # Enable, export, remove, with their roles.
    enabled = t.call("enable", "POST", "/v1/certificates/%s/enable" % thumbprint, 202, token=tokens["operator"],
                     body={"servers": ["ex01"], "services": ["web"]})
    if isinstance(enabled, dict) and "id" in enabled:
        wait_job(t, enabled["id"], tokens["viewer"])
    export = {"password": password.decode()}
    t.call("operator may not export", "POST", "/v1/servers/ex01/certificates/%s/export" % thumbprint, 403,
           token=tokens["operator"], body=export, code="forbidden")
    t.call("export", "POST", "/v1/servers/ex01/certificates/%s/export" % thumbprint, 200, token=admin, body=export)
    removed = t.call("remove", "POST", "/v1/certificates/%s/remove" % thumbprint, 202, token=tokens["operator"],
                     body={"servers": ["ex02"]})
    if isinstance(removed, dict) and "id" in removed:
        wait_job(t, removed["id"], tokens["viewer"])
        t.call("retry", "POST", "/v1/jobs/%s/retry" % removed["id"], 409, token=tokens["operator"])

    certificate_requests(t, tokens, run_dir)

    # The audit log, a revocation, the server going again.
    t.call("audit", "GET", "/v1/audit?token=operator&limit=5", 200, token=admin)
    t.call("viewer may not read the audit log", "GET", "/v1/audit", 403, token=tokens["viewer"])
    check_metrics(t, tokens)
    t.call("revoke", "DELETE", "/v1/tokens/viewer", 204, token=admin)
    t.call("revoked token", "GET", "/v1/servers", 401, token=tokens["viewer"], code="token-revoked")
    t.call("delete ex03", "DELETE", "/v1/servers/ex03", 204, token=admin)


def certificate_requests(t, tokens, run_dir):
    """A request made on ex02, listed, downloaded, answered by the run command's example root (the CA), and the
    answer imported naming no server; then the certificate renewed."""
    operator, viewer = tokens["operator"], tokens["viewer"]
    t.call("a request's subject is checked", "POST", "/v1/requests", 422, token=operator,
           body={"subject": "CN=owa.fabrikam.com, C=USA", "servers": ["ex02"]}, code="invalid-subject")
    t.call("a viewer may not request", "POST", "/v1/requests", 403, token=viewer,
           body={"domains": ["owa.fabrikam.com"], "servers": ["ex02"]}, code="forbidden")
    made = t.call("request", "POST", "/v1/requests", 202, token=operator,
                  body={"subject": "CN=owa.fabrikam.com, O=Fabrikam", "domains": ["owa.fabrikam.com"],
                        "keyAlgorithm": "ECDSA", "keySize": 256, "friendlyName": "OWA", "servers": ["ex02"]})
    if not isinstance(made, dict) or wait_job(t, made["id"], viewer).get("state") != "succeeded":
        t.failures.append("the request job did not succeed: %r" % (made,))
        return
    t.call("a server's certificates and requests", "GET", "/v1/servers/ex02/certificates", 200, token=viewer)
    t.call("pending requests in the inventory", "GET", "/v1/certificates?status=PendingRequest", 200, token=viewer)
    listed = t.call("requests", "GET", "/v1/requests?server=ex02", 200, token=viewer)
    if not isinstance(listed, dict) or len(listed.get("requests", [])) != 1:
        t.failures.append("GET /v1/requests?server=ex02 lists one request: %r" % (listed,))
        return
    request = listed["requests"][0]
    csr = t.call("a request as a file", "GET", "/v1/servers/ex02/requests/" + request["id"], 200, token=viewer)
    t.call("no such request", "GET", "/v1/servers/ex02/requests/" + "0" * 40, 404, token=viewer,
           code="certificate-not-found")
    example = os.path.join(run_dir, "example")
    answer = subprocess.run(["openssl", "x509", "-req", "-CA", os.path.join(example, "root.pem"), "-CAkey",
                             os.path.join(example, "root.key"), "-days", "30", "-copy_extensions", "copy"],
                            input=csr, capture_output=True, check=True).stdout
    done = t.form("a CA's answer, naming no server", "/v1/imports", [("file", answer, "owa.crt")], 202, operator)
    if not isinstance(done, dict) or wait_job(t, done["id"], viewer).get("state") != "succeeded":
        t.failures.append("the answer's import did not succeed: %r" % (done,))
        return
    t.form("an answer to no request left", "/v1/imports", [("file", answer, "owa.crt")], 422, operator,
           code="no-matching-request")
    renewed = t.call("renew", "POST", "/v1/certificates/%s/renew" % done["thumbprint"], 202, token=operator)
    if isinstance(renewed, dict) and "id" in renewed:
        wait_job(t, renewed["id"], viewer)
    t.call("renew what no server holds", "POST", "/v1/certificates/%s/renew" % ("A" * 40), 404, token=operator,
           code="certificate-not-found")


def check_metrics(t, tokens):
    """GET /metrics through Prism with a viewer token, and on the run command's loopback metricsListen without
    one: Prometheus's own parser (promtool check metrics) accepts both, the figures tell the truth of the
    traffic above, and no label holds a job id, a raw path or a token."""
    api_text = t.call("metrics", "GET", "/metrics", 200, token=tokens["viewer"])
    t.call("a scoped token may not read the metrics", "GET", "/metrics", 403, token=tokens["mail-ci"],
           code="out-of-scope")
    with urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=30) as r:
        open_text = r.read()
        kind = r.headers.get("Content-Type")
    if kind != "text/plain; version=0.0.4; charset=utf-8":
        t.failures.append("metricsListen answers Content-Type %r" % kind)
    for where, body in (("/metrics", api_text), ("metricsListen", open_text)):
        checked = subprocess.run(["promtool", "check", "metrics"], input=body if isinstance(body, bytes) else b"",
                                 capture_output=True)
        if checked.returncode != 0 or not body:
            t.failures.append("promtool check metrics refuses %s: %s" % (where, checked.stdout + checked.stderr))
    text = open_text.decode()
    expected = [
        r'^x509_cert_not_after\{issuer_CN="Fabrikam Example Root CA",serial_number="[0-9A-F]+",server="ex01",'
        r'status="Valid",subject_CN="mail\.fabrikam\.com",thumbprint="[0-9A-F]{40}"\} \d{10}$',
        r'^x509_cert_expired\{[^}]*server="ex01"[^}]*subject_CN="mail\.fabrikam\.com"[^}]*\} 0$',
        r'^certdeploy_agent_up\{server="ex01"\} 1$',
        r'^certdeploy_agent_info\{server="ex02",version="0\.1\.0"\} 1$',
        r'^certdeploy_agent_identity_expiry_timestamp_seconds\{server="ex01"\} \d{10}$',
        r'^certdeploy_jobs\{kind="import",state="succeeded"\} [1-9]',
        r'^certdeploy_targets_finished_total\{kind="import",state="succeeded"\} [1-9]',
        r'^certdeploy_target_attempt_duration_seconds_count\{kind="import"\} [1-9]',
        r'^certdeploy_target_completion_seconds_count\{kind="import"\} [1-9]',
        r'^certdeploy_targets_in_flight 0$',
        r'^certdeploy_http_requests_total\{route="/v1/imports",method="POST",code="2xx"\} [1-9]',
        r'^certdeploy_http_requests_total\{route="/v1/imports",method="POST",code="4xx"\} [1-9]',
        r'^certdeploy_http_requests_total\{route="/v1/jobs/\{id\}",method="GET",code="2xx"\} [1-9]',
        r'^certdeploy_http_request_duration_seconds_bucket\{route="/v1/servers",method="GET",le="\+Inf"\} [1-9]',
        r'^certdeploy_store_transaction_duration_seconds_count\{outcome="commit"\} [1-9]',
        r'^certdeploy_build_info\{version="0\.1\.0"\} 1$',
        r'^process_open_fds [1-9]', r'^process_resident_memory_bytes [1-9]', r'^process_start_time_seconds \d{10}',
    ]
    for pattern in expected:
        if not re.search(pattern, text, re.M):
            t.failures.append("the metrics lack %s" % pattern)
    # The renewal above left a pending request on ex02: it has no dates, so no x509 series.
    pending = t.call("pending requests", "GET", "/v1/requests", 200, token=tokens["viewer"])
    ids = [r["id"] for r in pending.get("requests", [])] if isinstance(pending, dict) else []
    if not ids:
        t.failures.append("the renewal left no pending request to check the metrics with")
    for request_id in ids:
        if 'thumbprint="%s"' % request_id in text:
            t.failures.append("a pending request has an x509 series: %s" % request_id)
    labels = re.findall(r'="([^"]*)"', text)
    leaks = [v for v in labels if re.fullmatch(r"[0-9a-f]{32}", v) or v.startswith("/v1/servers/ex")
             or any(secret and secret in v for secret in tokens.values())]
    if leaks:
        t.failures.append("metric labels hold job ids, raw paths or tokens: %r" % leaks[:5])


def main():
    repo, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    prism = os.path.join(repo, "tests/contract/node_modules/.bin/prism")
    if not os.path.exists(prism):
        print("FAIL: %s is missing: run npm ci --prefix tests/contract (scripts/test.sh does)" % prism)
        return 1
    busy = [p for p in PORTS if port_in_use(p)]
    if busy:
        print("FAIL: the run command's ports are in use: %s (is scripts/run.sh running?)" % busy)
        return 1
    home, env, run, log_path, run_log = start_run_command(repo, binary, "certdeploy-prism-")
    run_dir = os.path.join(home, "run")
    prism_proc, failures, traffic = None, [], None
    try:
        wait_for(lambda: "run: Ctrl-C stops them all" in open(log_path).read()
                 or run.poll() is not None, 120, "the run command to start")
        if run.poll() is not None:
            raise AssertionError("the run command ended with status %s" % run.returncode)
        wait_for(lambda: servers_reachable(run_dir), 30, "both agents to be probed reachable")

        port = free_port()
        prism_log = open(os.path.join(home, "prism.log"), "w")
        prism_proc = subprocess.Popen(
            [prism, "proxy", os.path.join(repo, "openapi.yaml"), "https://127.0.0.1:8080", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=home, stdout=prism_log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(env, NODE_EXTRA_CA_CERTS=os.path.join(run_dir, "pki/ca.pem")))
        wait_for(lambda: port_in_use(port) or prism_proc.poll() is not None, 60, "Prism to listen")
        if prism_proc.poll() is not None:
            raise AssertionError("Prism ended with status %s" % prism_proc.returncode)
        traffic = Traffic(port)
        exercise(traffic, run_dir)
        failures += traffic.failures
    except (AssertionError, OSError, subprocess.CalledProcessError) as e:
        failures += (traffic.failures if traffic else []) + [str(e)]
    finally:
        for proc in (prism_proc, run):
            if proc is not None:
                stop_process_group(proc)
        run_log.close()

    for failure in failures:
        print("FAIL: " + failure + "\n")
    if failures:
        for name in ("prism.log", "run.log"):
            path = os.path.join(home, name)
            if os.path.exists(path):
                print("--- %s (last lines)\n%s" % (name, "\n".join(open(path).read().splitlines()[-30:])))
    if os.environ.get("PRISM_TEST_KEEP"):
        print("kept: " + home)
    else:
        shutil.rmtree(home, ignore_errors=True)
    print("%d calls through Prism, %d failures" % (traffic.calls if traffic else 0, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
