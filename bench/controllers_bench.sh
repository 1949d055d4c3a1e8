#!/usr/bin/env bash
# The deployment benchmark with several controllers: SQLite with one controller beside PostgreSQL with one,
# two and three, in the same run, on the same agents. AGENTS real agents over mutual TLS, SERVERS server
# names spread over them (most targets are then an agent's alreadyInstalled answer, so the figure is the
# controllers' and the database's cost per target). Each setup gets a fresh database (and its controllers
# fresh data directories) and runs ROUNDS deployments of the same file; the medians are printed.
#
# Times POST /v1/imports (to the first controller) to the job's final event read on the last controller,
# and sums the CPU of all controllers and of PostgreSQL's processes.
#
#   bench/controllers_bench.sh BINARY [AGENTS] [SERVERS] [ROUNDS]
# Needs root (PostgreSQL runs as the postgres user, in a temporary cluster on a free port).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:?usage: controllers_bench.sh BINARY [AGENTS] [SERVERS] [ROUNDS]}")
agents=${2:-10}
servers=${3:-1000}
rounds=${4:-3}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
controller_pids=()
cleanup() {
    kill -TERM "${controller_pids[@]}" "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# PostgreSQL: a cluster of its own, durable as shipped (fsync on), scram password in a 0600 file.
mkdir pg && chown postgres: pg
head -c 18 /dev/urandom | base64 | tr -d '/+=' > pg/password
chown postgres: pg/password && chmod 600 pg/password
runuser -u postgres -- "$pgbin/initdb" -D pg/data -U postgres --pwfile=pg/password --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
runuser -u postgres -- "$pgbin/pg_ctl" -D pg/data -l pg/log -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null

names=$(seq -f 'a%02g' 1 "$agents" | paste -sd,)
"$bin" pki init pki --agents "$names" >/dev/null
bash "$root/scripts/make-example-certificate.sh" "$work" >/dev/null
head -c 32 /dev/urandom > upload.key && chmod 600 upload.key
for name in ${names//,/ }; do
    "$bin" agent --listen 127.0.0.1:0 --ready-file "$name.addr" --name "$name" --store "store-$name" \
        --tls-cert "pki/agents/$name.pem" --tls-key "pki/agents/$name.key" --client-ca pki/ca.pem \
        --log-level warn 2>>agents.log &
    pids+=($!)
done
for name in ${names//,/ }; do
    for _ in $(seq 1 200); do [ -s "$name.addr" ] && break; sleep 0.05; done
done
python3 - "$agents" "$servers" > servers.json <<'PY'
import json, sys
agents, servers = int(sys.argv[1]), int(sys.argv[2])
addr = [open(f"a{i:02d}.addr").read().strip() for i in range(1, agents + 1)]
print(json.dumps({f"s{n:05d}": {"agentUrl": "https://" + addr[n % agents]} for n in range(servers)}))
PY

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ s += ($14 + $15) / hz } END { printf "%.2f", s }' $(printf '/proc/%s/stat ' "$@"); }
pg_cpu() { cpu $(pgrep -u postgres -f "postgres" | tr '\n' ' '); }

# One setup: ENGINE (sqlite|postgresql) with CONTROLLERS controllers; prints one line per round.
run_setup() {
    local engine=$1 controllers=$2 db="certdeploy_$1_$2"
    local flags=(--servers "$(cat servers.json)" --agent-ca pki/ca.pem --agent-client-cert pki/controller.pem
        --agent-client-key pki/controller.key --max-parallel-targets 64 --probe-interval-seconds 3600
        --log-level warn --insecure-http --upload-key-file "$work/upload.key")
    if [ "$engine" = postgresql ]; then
        runuser -u postgres -- "$pgbin/psql" -X -q -h "$work/pg" -p "$pgport" -c "CREATE DATABASE $db"
        flags+=(--database "host=127.0.0.1 port=$pgport user=postgres dbname=$db"
            --database-password-file "$work/pg/password")
    fi
    controller_pids=()
    local addrs=()
    for i in $(seq 1 "$controllers"); do
        local dir="$work/$db-c$i"
        mkdir -p "$dir"
        "$bin" server --listen 127.0.0.1:0 --ready-file "$dir/server.addr" --data-dir "$dir/data" "${flags[@]}" \
            2>"$dir/server.log" &
        controller_pids+=($!)
        for _ in $(seq 1 400); do [ -s "$dir/server.addr" ] && break; sleep 0.05; done
        addrs+=("http://$(cat "$dir/server.addr")")
    done
    local token
    token=$(cat "$work/$db-c1/data/admin.token")
    (umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$token" > auth.curlrc)
    for round in $(seq 1 "$rounds"); do
        local cpu_before pg_before start end id
        cpu_before=$(cpu "${controller_pids[@]}")
        pg_before=$(pg_cpu)
        start=$(date +%s.%N)
        id=$(curl -sf -K auth.curlrc -F file=@Fabrikam.pfx -F "password=<Fabrikam.password" -F 'servers=*' \
            "${addrs[0]}/v1/imports" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
        curl -sfN -K auth.curlrc "${addrs[-1]}/v1/jobs/$id/events" > events.txt
        end=$(date +%s.%N)
        local state
        state=$(curl -sf -K auth.curlrc "${addrs[-1]}/v1/jobs/$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])')
        python3 - "$engine" "$controllers" "$round" "$start" "$end" "$servers" "$cpu_before" \
            "$(cpu "${controller_pids[@]}")" "$pg_before" "$(pg_cpu)" "$state" <<'PY'
import sys
engine, controllers, rnd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start, end, servers = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
ctl = float(sys.argv[8]) - float(sys.argv[7])
pg = float(sys.argv[10]) - float(sys.argv[9]) if engine == "postgresql" else 0.0
print(f"{engine} {controllers} {rnd} {end - start:.2f} {ctl:.2f} {pg:.2f} {sys.argv[11]}")
PY
    done
    kill -TERM "${controller_pids[@]}"
    wait "${controller_pids[@]}" 2>/dev/null || true
    controller_pids=()
}

{
    run_setup sqlite 1
    run_setup postgresql 1
    run_setup postgresql 2
    run_setup postgresql 3
} > rounds.txt
python3 - "$agents" "$servers" "$rounds" rounds.txt <<'PY'
import statistics, sys
agents, servers, rounds = sys.argv[1:4]
rows = {}
for line in open(sys.argv[4]):
    engine, controllers, rnd, wall, ctl, pg, state = line.split()
    rows.setdefault((engine, int(controllers)), []).append((float(wall), float(ctl), float(pg), state))
print(f"{servers} targets on {agents} agents, {rounds} rounds each, medians "
      "(wall: POST to the final event; CPU: all controllers; PostgreSQL: its processes)")
print("| database | controllers | wall s | targets/s | controllers' CPU s | PostgreSQL CPU s | states |")
print("|---|---|---|---|---|---|---|")
for (engine, controllers), runs in rows.items():
    wall = statistics.median(r[0] for r in runs)
    ctl = statistics.median(r[1] for r in runs)
    pg = statistics.median(r[2] for r in runs)
    states = ",".join(sorted({r[3] for r in runs}))
    print(f"| {engine} | {controllers} | {wall:.2f} | {int(servers) / wall:.0f} | {ctl:.2f} | {pg:.2f} | {states} |")
PY
