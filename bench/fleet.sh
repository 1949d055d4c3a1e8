# shellcheck shell=bash
# A fleet on this machine for the benchmarks, sourced by them: a development PKI, real agents over mutual
# TLS, server names spread over the agents, a controller, and measurements from /proc. Every function
# works in the current directory (a benchmark's temporary one) and records the processes it starts in
# fleet_pids, so that fleet_stop ends them.
#
#   fleet_start_agents BINARY AGENTS        agents a01..aNN on loopback ports (pki/, NAME.addr, store-NAME/)
#   fleet_servers_json AGENTS SERVERS       SERVERS names s00000.. round-robin over the agents, as JSON
#   fleet_start_controller BINARY PARALLEL [LOG_LEVEL]
#                                           a controller for servers.json on plain HTTP (log level warn unless
#                                           given): $fleet_url, $fleet_controller
#   fleet_wait_probed SERVERS               until the first probe round has ended and the controller is idle
#   fleet_idle_rss                          the controller's VmRSS in MiB once it has been idle for 5 s
#   fleet_deploy [FILE PASSWORD_FILE]       POST /v1/imports to servers=* and read the events to `done`:
#                                           $fleet_wall (s), $fleet_job, $fleet_state
#   cpu_seconds PID...                      user + system CPU seconds of the processes so far
#   rss_mib PID / peak_rss_mib PID          resident memory now / at its highest (VmRSS / VmHWM)

fleet_pids=()
fleet_agent_pids=()

fleet_stop() {
    kill -TERM "${fleet_pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    fleet_pids=()
    fleet_agent_pids=()
}

cpu_seconds() {
    # shellcheck disable=SC2046
    awk -v hz="$(getconf CLK_TCK)" '{ s += ($14 + $15) / hz } END { printf "%.3f", s }' $(printf '/proc/%s/stat ' "$@")
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

fleet_start_agents() {
    local bin=$1 count=$2 names name
    names=$(seq -f 'a%02g' 1 "$count" | paste -sd,)
    "$bin" pki init pki --agents "$names" >/dev/null
    bash "$fleet_root/scripts/make-example-certificate.sh" "$PWD" >/dev/null
    for name in ${names//,/ }; do
        "$bin" agent --listen 127.0.0.1:0 --ready-file "$name.addr" --name "$name" --store "store-$name" \
            --tls-cert "pki/agents/$name.pem" --tls-key "pki/agents/$name.key" --client-ca pki/ca.pem \
            --log-level warn 2>>agents.log &
        fleet_pids+=($!)
        fleet_agent_pids+=($!)
    done
    for name in ${names//,/ }; do
        for _ in $(seq 1 400); do [ -s "$name.addr" ] && break; sleep 0.05; done
        [ -s "$name.addr" ] || { echo "agent $name did not start" >&2; cat agents.log >&2; return 1; }
    done
}

fleet_servers_json() {
    python3 - "$1" "$2" <<'PY'
import json, sys
agents, servers = int(sys.argv[1]), int(sys.argv[2])
addr = [open(f"a{i:02d}.addr").read().strip() for i in range(1, agents + 1)]
print(json.dumps({f"s{n:05d}": {"agentUrl": "https://" + addr[n % agents]} for n in range(servers)}))
PY
}

fleet_start_controller() {
    local bin=$1 parallel=$2 log_level=${3:-warn}
    rm -f server.addr
    # The servers in a configuration file: ten thousand of them exceed what one argument may hold.
    python3 -c 'import json; print(json.dumps({"servers": json.load(open("servers.json"))}))' > server.json
    "$bin" server --config server.json --listen 127.0.0.1:0 --insecure-http --ready-file server.addr --data-dir data \
        --agent-ca pki/ca.pem --agent-client-cert pki/controller.pem \
        --agent-client-key pki/controller.key --max-parallel-targets "$parallel" --probe-interval-seconds 3600 \
        --log-level "$log_level" 2>server.log &
    fleet_controller=$!
    fleet_pids+=("$fleet_controller")
    for _ in $(seq 1 400); do [ -s server.addr ] && break; sleep 0.05; done
    [ -s server.addr ] || { echo "the controller did not start" >&2; cat server.log >&2; return 1; }
    fleet_url="http://$(cat server.addr)"
    # The admin token the controller made on its first start, as a header from a file (never an argument).
    (umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$(cat data/admin.token)" > auth.curlrc)
}

fleet_wait_probed() {
    local servers=$1 before after
    python3 - "$fleet_url" "$servers" <<'PY'
import json, subprocess, sys, time
url, servers = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 600
while time.time() < deadline:
    seen, after = 0, ""
    while True:
        page = json.loads(subprocess.run(["curl", "-sf", "-K", "auth.curlrc",
                                          f"{url}/v1/servers?limit=1000" + (f"&after={after}" if after else "")],
                                         capture_output=True, check=True).stdout)
        seen += sum(1 for s in page["servers"] if s.get("lastContact"))
        after = page.get("next")
        if not after:
            break
    if seen >= servers:
        sys.exit(0)
    time.sleep(0.5)
sys.exit("the first probe round did not end")
PY
    # The last probes' inventories are still being recorded: wait for a quiet half second.
    for _ in $(seq 1 120); do
        before=$(cpu_seconds "$fleet_controller")
        sleep 0.5
        after=$(cpu_seconds "$fleet_controller")
        awk -v b="$before" -v a="$after" 'BEGIN { exit !(a - b < 0.02) }' && return 0
    done
}

# Idle as a controller stays idle: the heap trimmer (service/memory/heap_trimmer.hpp) gives a burst's freed
# memory back once the heap has been still for two of its 2 s samples, so idle is read 5 s after the quiet.
fleet_idle_rss() {
    sleep 5
    rss_mib "$fleet_controller"
}

fleet_deploy() {
    local file=${1:-Fabrikam.pfx} password=${2:-Fabrikam.password} start end
    # Only curl between the two clock readings (the job's id from the Location header, no interpreter).
    start=$(date +%s.%N)
    curl -sf -o /dev/null -D headers.txt -K auth.curlrc -F "file=@$file" -F "password=<$password" -F 'servers=*' \
        "$fleet_url/v1/imports"
    fleet_job=$(sed -n 's|^[Ll]ocation: /v1/jobs/\([0-9a-z-]*\).*|\1|p' headers.txt)
    curl -sfN -K auth.curlrc "$fleet_url/v1/jobs/$fleet_job/events" > events.txt
    end=$(date +%s.%N)
    grep -q '^event: done' events.txt || { echo "the events stream ended without done" >&2; return 1; }
    fleet_wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    fleet_state=$(curl -sf -K auth.curlrc "$fleet_url/v1/jobs/$fleet_job" |
        python3 -c 'import json, sys; j = json.load(sys.stdin); c = j["targetCounts"]; print(j["state"], "succeeded", c["succeeded"], "failed", c["failed"])')
}
