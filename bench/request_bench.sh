#!/usr/bin/env bash
# Certificate requests across a fleet, through the real processes: one controller and AGENTS real agents
# over mutual TLS. For each key type, times POST /v1/requests on every server to the job's final state (each
# agent makes its key pair and its PKCS #10 request), ROUNDS times, and reports the median. Beside it, the
# peer an administrator would otherwise use: `openssl req -newkey ... -nodes` run once per server, one after
# the other, on the same machine in the same run.
#
#   bench/request_bench.sh BINARY [AGENTS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:?usage: request_bench.sh BINARY [AGENTS] [ROUNDS]}")
agents=${2:-10}
rounds=${3:-3}
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
for name in ${names//,/ }; do
    "$bin" agent --listen 127.0.0.1:0 --ready-file "$name.addr" --name "$name" --store "store-$name" \
        --tls-cert "pki/agents/$name.pem" --tls-key "pki/agents/$name.key" --client-ca pki/ca.pem \
        --log-level warn 2>>agents.log &
    pids+=($!)
done
for name in ${names//,/ }; do
    for _ in $(seq 1 200); do [ -s "$name.addr" ] && break; sleep 0.05; done
done
python3 - "$names" > servers.json <<'PY'
import json, sys
print(json.dumps({n: {"agentUrl": "https://" + open(n + ".addr").read().strip()} for n in sys.argv[1].split(",")}))
PY
"$bin" server --listen 127.0.0.1:0 --insecure-http --ready-file server.addr --data-dir data --servers "$(cat servers.json)" \
    --agent-ca pki/ca.pem --agent-client-cert pki/controller.pem --agent-client-key pki/controller.key \
    --probe-interval-seconds 3600 --log-level warn 2>server.log &
pids+=($!)
for _ in $(seq 1 200); do [ -s server.addr ] && break; sleep 0.05; done
url="http://$(cat server.addr)"
(umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$(cat data/admin.token)" > auth.curlrc)

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Seconds from the POST to the job's final state (polled every 10 ms).
one_request() {
    local algorithm=$1 size=$2 start id state
    start=$(date +%s.%N)
    id=$(curl -sf -K auth.curlrc "$url/v1/requests" \
        -d "{\"domains\":[\"mail.contoso.com\"],\"keyAlgorithm\":\"$algorithm\",\"keySize\":$size,\"servers\":\"*\"}" |
        jq -r .id)
    for _ in $(seq 1 60000); do
        state=$(curl -sf -K auth.curlrc "$url/v1/jobs/$id" | jq -r .state)
        case $state in succeeded) break ;; failed | partiallySucceeded | cancelled) echo "job $id $state" >&2; exit 1 ;; esac
        sleep 0.01
    done
    awk -v start="$start" -v end="$(date +%s.%N)" 'BEGIN {print end - start}'
}

# The peer: openssl req, once per server, one after the other.
openssl_requests() {
    local newkey=$1 start
    start=$(date +%s.%N)
    for i in $(seq 1 "$agents"); do
        openssl req -new -newkey "$newkey" -nodes -keyout "peer-$i.key" -out "peer-$i.csr" \
            -subj /CN=mail.contoso.com -addext subjectAltName=DNS:mail.contoso.com 2>/dev/null
    done
    awk -v start="$start" -v end="$(date +%s.%N)" 'BEGIN {print end - start}'
}

printf '%-12s %8s %24s %24s\n' key servers "certdeploy median (s)" "openssl req serial (s)"
for spec in "RSA 2048 rsa:2048" "RSA 3072 rsa:3072" "RSA 4096 rsa:4096" "ECDSA 256 ec:P-256.pem" \
    "ECDSA 384 ec:P-384.pem"; do
    read -r algorithm size newkey <<<"$spec"
    ours=$(for _ in $(seq 1 "$rounds"); do one_request "$algorithm" "$size"; done | median)
    if [ "$algorithm" = ECDSA ]; then
        openssl ecparam -name "P-$size" -out "P-$size.pem"
    fi
    peer=$(for _ in $(seq 1 "$rounds"); do openssl_requests "$newkey"; done | median)
    printf '%-12s %8s %24.3f %24.3f\n' "$algorithm $size" "$agents" "$ours" "$peer"
done
