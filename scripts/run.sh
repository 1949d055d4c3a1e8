#!/usr/bin/env bash
# The main job, from a fresh clone: installs packages, builds a release, makes on first run the development
# certificates for mutual TLS (run/pki) and an example certificate to deploy (run/Fabrikam.pfx, password in
# run/Fabrikam.password), then runs the controller and two local agents on loopback in the foreground until
# Ctrl-C (which stops all three cleanly).
#   controller: http://127.0.0.1:8080 (database in run/controller; ex01 and ex02 registered, role=mailbox)
#   agents:     ex01 https://127.0.0.1:9001, ex02 https://127.0.0.1:9002 (mutual TLS; stores in run/ex01, run/ex02)
# The controller's port can be changed with CERTDEPLOY_SERVER_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build/release -DCMAKE_BUILD_TYPE=Release -DCERTDEPLOY_BUILD_TESTS=OFF

bin=build/release/service/cli/certdeploy
state=run
mkdir -p "$state"
rm -f "$state"/*.addr
# Kept across runs: a rerun adds what is missing and keeps the CA the agents already trust.
"$bin" pki init "$state/pki" --agents ex01,ex02 >/dev/null
scripts/make-example-certificate.sh "$state"

pids=()
for n in 1 2; do
    "$bin" agent --listen "127.0.0.1:900$n" --ready-file "$state/ex0$n.addr" --name "ex0$n" \
        --store "$state/ex0$n" --tls-cert "$state/pki/agents/ex0$n.pem" --tls-key "$state/pki/agents/ex0$n.key" \
        --client-ca "$state/pki/ca.pem" --ca-file "$state/example/root.pem" &
    pids+=($!)
done
servers='{"ex01": {"agentUrl": "https://127.0.0.1:9001", "labels": {"role": "mailbox"}},
          "ex02": {"agentUrl": "https://127.0.0.1:9002", "labels": {"role": "mailbox"}}}'
"$bin" server --listen "${CERTDEPLOY_SERVER_LISTEN:-127.0.0.1:8080}" --ready-file "$state/server.addr" \
    --data-dir "$state/controller" --servers "$servers" \
    --agent-ca "$state/pki/ca.pem" --agent-client-cert "$state/pki/controller.pem" \
    --agent-client-key "$state/pki/controller.key" --probe-interval-seconds 5 &
pids+=($!)

stop() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
stopping=0
trap 'stopping=1; stop' INT TERM

for f in server ex01 ex02; do
    for _ in $(seq 1 200); do
        [ -s "$state/$f.addr" ] && break
        for pid in "${pids[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "run: certdeploy did not start (see the log lines above)" >&2
                stop
                exit 1
            fi
        done
        sleep 0.05
    done
done
url="http://$(cat "$state/server.addr")"
cat >&2 <<INFO
run: controller at $url, agents ex01 https://$(cat "$state/ex01.addr") and ex02 https://$(cat "$state/ex02.addr")
run: deploy the example:  curl -s -F file=@$state/Fabrikam.pfx -F password=<$state/Fabrikam.password -F servers='*' $url/v1/imports
run: then:                curl -s '$url/v1/servers/ex01/certificates?status=Valid'
run: Ctrl-C stops all three
INFO
status=0
wait -n "${pids[@]}" || status=$?
stop
# Ctrl-C is the normal way out; anything else ending a process is a failure.
[ "$stopping" = 1 ] && exit 0
exit "$status"
