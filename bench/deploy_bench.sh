#!/usr/bin/env bash
# A whole deployment through the real processes: one controller, AGENTS real agents over mutual TLS, and
# SERVERS registered server names spread over them (so that a thousand targets need not be a thousand
# processes). Times POST /v1/imports to the job's final event (the SSE stream closing), and reports
# targets per second. With more server names than agents, most targets are an agent's alreadyInstalled
# answer: the figure is then the controller's own cost per target (queue, persisted transitions, a pooled
# TLS request), which is what bounds a large fleet.
#
#   bench/deploy_bench.sh BINARY [AGENTS] [SERVERS] [PARALLEL]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:?usage: deploy_bench.sh BINARY [AGENTS] [SERVERS] [PARALLEL]}")
agents=${2:-10}
servers=${3:-1000}
parallel=${4:-64}
work=$(mktemp -d)
pids=()
cleanup() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
names=$(seq -f 'a%02g' 1 "$agents" | paste -sd,)
"$bin" pki init pki --agents "$names" >/dev/null
bash "$root/scripts/make-example-certificate.sh" "$work" >/dev/null
for name in ${names//,/ }; do
    "$bin" agent --listen 127.0.0.1:0 --ready-file "$name.addr" --name "$name" --store "store-$name" \
        --tls-cert "pki/agents/$name.pem" --tls-key "pki/agents/$name.key" --client-ca pki/ca.pem \
        --log-level warn 2>>agents.log &
    pids+=($!)
done
for name in ${names//,/ }; do
    for _ in $(seq 1 200); do [ -s "$name.addr" ] && break; sleep 0.05; done
done
# SERVERS names, round-robin over the agents.
python3 - "$agents" "$servers" > servers.json <<'PY'
import json, sys
agents, servers = int(sys.argv[1]), int(sys.argv[2])
addr = [open(f"a{i:02d}.addr").read().strip() for i in range(1, agents + 1)]
print(json.dumps({f"s{n:05d}": {"agentUrl": "https://" + addr[n % agents]} for n in range(servers)}))
PY
# Plain HTTP on loopback, as before HTTPS became the default (a binary older than that has no such flag).
insecure=()
if "$bin" server --help 2>&1 | grep -q -- --insecure-http; then insecure=(--insecure-http); fi
"$bin" server --listen 127.0.0.1:0 "${insecure[@]}" --ready-file server.addr --data-dir data --servers "$(cat servers.json)" \
    --agent-ca pki/ca.pem --agent-client-cert pki/controller.pem --agent-client-key pki/controller.key \
    --max-parallel-targets "$parallel" --probe-interval-seconds 3600 --log-level warn 2>server.log &
pids+=($!)
for _ in $(seq 1 200); do [ -s server.addr ] && break; sleep 0.05; done
url="http://$(cat server.addr)"
# The admin token the controller made on its first start, as a header from a file (a binary older than the
# API's tokens has none and needs none).
: > auth.curlrc
if [ -s data/admin.token ]; then
    (umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$(cat data/admin.token)" > auth.curlrc)
fi
start=$(date +%s.%N)
id=$(curl -sf -K auth.curlrc -F file=@Fabrikam.pfx -F "password=<Fabrikam.password" -F 'servers=*' "$url/v1/imports" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
curl -sfN -K auth.curlrc "$url/v1/jobs/$id/events" > events.txt
end=$(date +%s.%N)
# CPU seconds (user + system) of the controller and of all agents together, from /proc.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ s += ($14 + $15) / hz } END { printf "%.2f", s }' $(printf '/proc/%s/stat ' "$@"); }
server_cpu=$(cpu "${pids[-1]}")
agents_cpu=$(cpu "${pids[@]:0:${#pids[@]}-1}")
state=$(curl -sf -K auth.curlrc "$url/v1/jobs/$id" | python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["state"], j["targetCounts"])')
python3 - "$start" "$end" "$servers" "$agents" "$parallel" "$state" "$server_cpu" "$agents_cpu" <<'PY'
import sys
start, end = float(sys.argv[1]), float(sys.argv[2])
servers, agents, parallel, state = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
server_cpu, agents_cpu = float(sys.argv[7]), float(sys.argv[8])
wall = end - start
print(f"{servers} targets on {agents} agents, maxParallelTargets {parallel}: {wall:.2f} s, "
      f"{servers / wall:.0f} targets/s; CPU: controller {server_cpu:.2f} s, agents {agents_cpu:.2f} s ({state})")
PY
