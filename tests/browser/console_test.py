#!/usr/bin/env python3
"""The web console in a real browser: Debian's Chromium driven by Playwright (console_test.mjs) against the
run command — a real controller, two real agents and their nginx web servers.

Starts scripts/run.sh in a directory of its own (as the README and Prism tests do), prepares what the
browser steps need without a browser — a viewer token (`certdeploy token create`, as an admin would) and a
certificate that expires in 10 days deployed on ex01 through the API, for the inventory's expiry filter —
then runs console_test.mjs, which does the rest through the console only.

Usage: console_test.py REPO CERTDEPLOY_BINARY SCREENSHOT_DIR   (CONSOLE_TEST_KEEP=1 keeps the run directory)
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "readme"))
from readme_test import (PORTS, port_in_use, servers_reachable, start_run_command,  # noqa: E402
                         stop_process_group, wait_for)

CONTROLLER = "https://127.0.0.1:8080"


def api(run_dir, method, path, body=None, content_type="application/json"):
    tls = ssl.create_default_context(cafile=os.path.join(run_dir, "pki/ca.pem"))
    token = open(os.path.join(run_dir, "controller/admin.token")).read().strip()
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(CONTROLLER + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30, context=tls) as r:
        return json.load(r)


def expiring_certificate(run_dir):
    """soon.contoso.com, issued by the example root the agents trust, valid for 10 more days: a PFX and its
    password file."""
    work = os.path.join(run_dir, "soon")
    os.makedirs(work, exist_ok=True)
    example = os.path.join(run_dir, "example")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=work, check=True, capture_output=True)

    with open(os.path.join(work, "password"), "w") as f:
        f.write(uuid.uuid4().hex)
    with open(os.path.join(work, "leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:soon.contoso.com\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
            "-out", "leaf.csr", "-subj", "/O=Contoso/CN=soon.contoso.com")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", os.path.join(example, "root.pem"), "-CAkey",
            os.path.join(example, "root.key"), "-CAcreateserial", "-days", "10", "-extfile", "leaf.ext",
            "-out", "leaf.pem")
    openssl("pkcs12", "-export", "-in", "leaf.pem", "-inkey", "leaf.key", "-name", "Contoso Soon",
            "-passout", "file:password", "-out", "soon.pfx")
    return os.path.join(work, "soon.pfx"), os.path.join(work, "password")


def deploy(run_dir, pfx, password_file, servers):
    """POST /v1/imports as JSON, then wait for the job to be final; answers it."""
    import base64
    body = json.dumps({"fileData": base64.b64encode(open(pfx, "rb").read()).decode(),
                       "password": open(password_file).read(), "servers": servers}).encode()
    job = api(run_dir, "POST", "/v1/imports", body)
    final = {}

    def done():
        final.update(api(run_dir, "GET", "/v1/jobs/" + job["id"]))
        return final["state"] in ("succeeded", "failed", "cancelled")

    wait_for(done, 60, "the expiring certificate's job")
    return final


def main():
    repo, binary, shots = (os.path.abspath(a) for a in sys.argv[1:4])
    busy = [p for p in PORTS if port_in_use(p)]
    if busy:
        print("FAIL: the run command's ports are in use: %s (is scripts/run.sh running?)" % busy)
        return 1
    chromium = shutil.which("chromium")
    if not chromium:
        print("FAIL: Debian's chromium is not installed (scripts/install-deps.sh installs it)")
        return 1
    home, env, run, log_path, log = start_run_command(repo, binary, "certdeploy-console-")
    run_dir = os.path.join(home, "run")
    status = 1
    try:
        wait_for(lambda: "run: Ctrl-C stops them all" in open(log_path).read() or run.poll() is not None, 120,
                 "the run command to start")
        if run.poll() is not None:
            raise AssertionError("the run command ended with status %s" % run.returncode)
        wait_for(lambda: servers_reachable(run_dir), 30, "both agents to be probed reachable")

        viewer = subprocess.run([binary, "token", "create", "console-viewer", "--role", "viewer", "--data-dir",
                                 os.path.join(run_dir, "controller")], capture_output=True, text=True, check=True)
        viewer_file = os.path.join(home, "viewer.token")
        with open(viewer_file, "w") as f:
            f.write(viewer.stdout.strip())
        os.chmod(viewer_file, 0o600)
        pfx, password_file = expiring_certificate(run_dir)
        job = deploy(run_dir, pfx, password_file, ["ex01"])
        if job["state"] != "succeeded":
            raise AssertionError("the expiring certificate did not deploy: " + json.dumps(job))

        os.makedirs(shots, exist_ok=True)
        node_env = dict(env, CONSOLE_URL=CONTROLLER + "/", RUN_DIR=run_dir, SCREENSHOT_DIR=shots,
                        VIEWER_TOKEN_FILE=viewer_file, CHROMIUM=chromium, WORK_DIR=home)
        status = subprocess.run(["node", os.path.join(HERE, "console_test.mjs")], env=node_env, cwd=HERE).returncode
    except AssertionError as e:
        print("FAIL: %s" % e)
    finally:
        stop_process_group(run, signal.SIGINT)
        log.close()
        if status != 0:
            print("--- the run command's log (last 60 lines)")
            print("".join(open(log_path).readlines()[-60:]))
        if os.environ.get("CONSOLE_TEST_KEEP"):
            print("kept " + home)
        else:
            shutil.rmtree(home, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
