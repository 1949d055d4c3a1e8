#!/usr/bin/env python3
"""README.md as a new user meets it: starts scripts/run.sh in a directory of its own, then pastes every
```bash block of the README into one bash session, in order, and checks each answer against the ```text
block shown beneath it; then runs the run command's printed hints, the deploy line also under sh and zsh.

Matching: whitespace is ignored on both sides (the README wraps long JSON lines) and `...` in the README
stands for anything. A block must exit 0 unless it says `# exit status N` on its last such comment.
A block preceded by `<!-- not run by tests/readme: REASON -->` is skipped (the run and test commands
themselves, and servers that run in the foreground).

Usage: readme_test.py REPO CERTDEPLOY_BINARY   (README_TEST_KEEP=1 keeps the directory it ran in)
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

PORTS = [8080, 9001, 9002, 9003, 8443, 8444, 9108]  # the run command's fixed addresses, and the README's added server
BLOCK_TIMEOUT = 120


class Block:
    def __init__(self, line, commands, expected, skip):
        self.line, self.commands, self.expected, self.skip = line, commands, expected, skip


def readme_blocks(path):
    """The ```bash blocks, each with the ```text block right after it (blank lines between at most)."""
    lines = open(path, encoding="utf-8").read().split("\n")

    def fenced(start):  # the body of the block opening at `start`, and the line after its closing fence
        end = lines.index("```", start + 1)
        return "\n".join(lines[start + 1:end]), end + 1

    blocks, i = [], 0
    while i < len(lines):
        if lines[i] != "```bash":
            i += 1
            continue
        skip = i > 0 and lines[i - 1].startswith("<!-- not run by tests/readme:")
        start = i + 1
        commands, i = fenced(i)
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        expected = None
        if j < len(lines) and lines[j] == "```text":
            expected, i = fenced(j)
        blocks.append(Block(start, commands, expected, skip))
    return blocks


def matches(expected, actual):
    squeeze = lambda text: re.sub(r"\s+", "", text)
    pattern = ".*?".join(re.escape(part) for part in squeeze(expected).split("..."))
    return re.fullmatch(pattern, squeeze(actual), re.S) is not None


def expected_status(commands):
    found = re.findall(r"# exit status (\d+)", commands)
    return int(found[-1]) if found else 0


class Session:
    """One bash that every block is pasted into, so variables and functions carry over as in a terminal."""

    def __init__(self, shell, cwd, env):
        self.cwd, self.count = cwd, 0
        self.proc = subprocess.Popen([shell], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=cwd, env=env, text=True, bufsize=1)

    def run(self, commands):
        self.count += 1
        script = os.path.join(self.cwd, ".block-%d.sh" % self.count)
        out = os.path.join(self.cwd, ".block-%d.out" % self.count)
        with open(script, "w") as f:
            f.write(commands + "\n")
        self.proc.stdin.write(". %s > %s 2>&1 < /dev/null; echo \"__status__ $?\"\n" % (script, out))
        self.proc.stdin.flush()
        deadline = time.time() + BLOCK_TIMEOUT
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0, deadline - time.time()))
            if not ready:
                raise AssertionError("the block did not finish within %d s" % BLOCK_TIMEOUT)
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("the shell ended")
            if line.startswith("__status__ "):
                return int(line.split()[1]), open(out, encoding="utf-8", errors="replace").read()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def servers_reachable(run_dir):
    try:
        # HTTPS with run/pki's CA, and the admin token the controller wrote on its first start.
        tls = ssl.create_default_context(cafile=os.path.join(run_dir, "pki/ca.pem"))
        with open(os.path.join(run_dir, "controller/admin.token")) as f:
            token = f.read().strip()
        request = urllib.request.Request("https://127.0.0.1:8080/v1/servers",
                                         headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, timeout=5, context=tls) as r:
            servers = json.load(r)["servers"]
        return len(servers) == 2 and all(s["reachable"] is True for s in servers)
    except OSError:
        return False


def start_run_command(repo, binary, prefix):
    """scripts/run.sh started in a new directory laid out like a clone after the run command
    (build/release/cli/certdeploy, and run/ for its state). Answers the directory, the environment a user's
    shell has there (no CERTDEPLOY_ variables), the process, its log's path and the open log."""
    home = tempfile.mkdtemp(prefix=prefix)
    cli_dir = os.path.join(home, "build/release/cli")
    os.makedirs(cli_dir)
    os.symlink(binary, os.path.join(cli_dir, "certdeploy"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTDEPLOY_")}
    env.update(HOME=home, LC_ALL="C.UTF-8")
    run_env = dict(env, CERTDEPLOY_BIN=os.path.join(cli_dir, "certdeploy"),
                   CERTDEPLOY_RUN_DIR=os.path.join(home, "run"))
    log_path = os.path.join(home, "run.log")
    log = open(log_path, "w")
    run = subprocess.Popen(["bash", os.path.join(repo, "scripts/run.sh")], cwd=home, env=run_env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return home, env, run, log_path, log


def stop_process_group(proc, sig=signal.SIGTERM, timeout=30):
    """Signals a process started with start_new_session and its children; kills them if they outlast
    `timeout`. Answers whether they stopped on the signal."""
    if proc.poll() is not None:
        return True
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False


def main():
    repo, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    busy = [p for p in PORTS if port_in_use(p)]
    if busy:
        print("FAIL: the run command's ports are in use: %s (is scripts/run.sh running?)" % busy)
        return 1
    home, env, run, log_path, log = start_run_command(repo, binary, "certdeploy-readme-")
    failures, passed = [], 0
    try:
        wait_for(lambda: "run: Ctrl-C stops them all" in open(log_path).read() or run.poll() is not None, 120,
                 "the run command to start")
        if run.poll() is not None:
            raise AssertionError("the run command ended with status %s" % run.returncode)
        # A person reads the run command's lines before pasting: the agents' first probe has answered by then.
        wait_for(lambda: servers_reachable(os.path.join(home, "run")), 30, "both agents to be probed reachable")

        session = Session("bash", home, env)
        for block in readme_blocks(os.path.join(repo, "README.md")):
            if block.skip:
                continue
            status, output = session.run(block.commands)
            want = expected_status(block.commands)
            problems = []
            if status != want:
                problems.append("exit status %d, expected %d" % (status, want))
            if block.expected is not None and not matches(block.expected, output):
                problems.append("the answer differs from the README's")
            if problems:
                failures.append("README.md:%d: %s\n--- commands\n%s\n--- expected\n%s\n--- got\n%s" % (
                    block.line, "; ".join(problems), block.commands, block.expected, output))
            else:
                passed += 1
        session.close()

        # The run command's hints, as printed; the deploy line also under sh and zsh, as pasted there.
        hints = re.findall(r"^run: [^:]+:\s+(.*)$", open(log_path).read(), re.M)
        hints = [h for h in hints if h.startswith(("curl ", "build/"))]
        if len(hints) != 3:
            failures.append("expected 3 command hints from the run command, got %r" % hints)
        shells = ["bash", "sh"] + (["zsh"] if shutil.which("zsh") else [])
        for shell in shells:
            for hint in hints if shell == "bash" else hints[:1]:
                result = subprocess.run([shell, "-c", hint], cwd=home, env=env, capture_output=True, text=True,
                                        timeout=BLOCK_TIMEOUT)
                ok = result.returncode == 0 and (
                    '"kind":"import"' in result.stdout if "/v1/imports" in hint
                    else "succeeded" in result.stdout if "--wait" in hint
                    else '"status":"Valid"' in result.stdout)
                if ok:
                    passed += 1
                else:
                    failures.append("hint under %s: %s\n--- got (status %d)\n%s%s" % (
                        shell, hint, result.returncode, result.stdout, result.stderr))

        # What the run command's processes logged never holds the example's password.
        secret = open(os.path.join(home, "run/Fabrikam.password")).read().strip()
        if secret in open(log_path).read():
            failures.append("the password appears in the run command's log")
    except AssertionError as e:
        failures.append(str(e))
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            failures.append("the run command did not stop on SIGTERM")
        log.close()
        if run.returncode not in (0, None) and not failures:
            failures.append("the run command exited with status %d on SIGTERM" % run.returncode)
        left = [p for p in PORTS if port_in_use(p)]
        if left:
            failures.append("still listening after the run command stopped: %s" % left)

    for failure in failures:
        print("FAIL: " + failure + "\n")
    if failures:
        print("--- the run command's log (last lines)")
        print("\n".join(open(log_path).read().splitlines()[-40:]))
    elif os.environ.get("README_TEST_KEEP"):
        print("kept: " + home)  # each block's commands and output are its .block-N.sh and .block-N.out
    else:
        shutil.rmtree(home, ignore_errors=True)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
