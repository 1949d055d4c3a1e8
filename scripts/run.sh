#!/usr/bin/env bash
# The main job, from a fresh clone: installs packages, builds a release, makes development certificates for
# mutual TLS on first run (run/pki), then runs the controller and a local agent on loopback in the
# foreground until Ctrl-C (which stops both cleanly).
#   controller: http://127.0.0.1:8080 (database in run/controller, the local agent registered as "local")
#   agent: https://127.0.0.1:9001 (mutual TLS, store in run/agent-store)
# Ports can be changed with CERTDEPLOY_SERVER_LISTEN and CERTDEPLOY_AGENT_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build/release -DCMAKE_BUILD_TYPE=Release -DCERTDEPLOY_BUILD_TESTS=OFF

bin=build/release/service/cli/certdeploy
state=run
mkdir -p "$state"
rm -f "$state/server.addr" "$state/agent.addr"
# Kept across runs: a rerun adds what is missing and keeps the CA the agent already trusts.
"$bin" pki init "$state/pki" --agents local >/dev/null

"$bin" agent --listen "${CERTDEPLOY_AGENT_LISTEN:-127.0.0.1:9001}" --ready-file "$state/agent.addr" \
    --name local --store "$state/agent-store" --tls-cert "$state/pki/agents/local.pem" \
    --tls-key "$state/pki/agents/local.key" --client-ca "$state/pki/ca.pem" &
agent=$!
agent_listen=${CERTDEPLOY_AGENT_LISTEN:-127.0.0.1:9001}
"$bin" server --listen "${CERTDEPLOY_SERVER_LISTEN:-127.0.0.1:8080}" --ready-file "$state/server.addr" \
    --data-dir "$state/controller" --servers "{\"local\": {\"agentUrl\": \"https://$agent_listen\"}}" \
    --agent-ca "$state/pki/ca.pem" --agent-client-cert "$state/pki/controller.pem" \
    --agent-client-key "$state/pki/controller.key" --probe-interval-seconds 5 &
server=$!

stop() {
    kill -TERM "$server" "$agent" 2>/dev/null || true
    wait "$server" "$agent" 2>/dev/null || true
}
stopping=0
trap 'stopping=1; stop' INT TERM

for f in server agent; do
    for _ in $(seq 1 200); do
        [ -s "$state/$f.addr" ] && break
        if ! kill -0 "$server" 2>/dev/null || ! kill -0 "$agent" 2>/dev/null; then
            echo "run: certdeploy did not start (see the log lines above)" >&2
            stop
            exit 1
        fi
        sleep 0.05
    done
done
cat >&2 <<INFO
run: controller at http://$(cat "$state/server.addr")  agent at https://$(cat "$state/agent.addr") (mutual TLS)
run: try  curl -s http://$(cat "$state/server.addr")/v1/servers
run:      curl -s --cacert $state/pki/ca.pem --cert $state/pki/controller.pem --key $state/pki/controller.key https://$(cat "$state/agent.addr")/agent/v1/certificates
run: Ctrl-C stops both
INFO
status=0
wait -n "$server" "$agent" || status=$?
stop
# Ctrl-C is the normal way out; anything else ending a process is a failure.
[ "$stopping" = 1 ] && exit 0
exit "$status"
