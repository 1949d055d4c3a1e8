#!/usr/bin/env bash
# The controller's read API beside nginx, on the same bytes, in one run: wrk (THREADS threads, CONNECTIONS
# kept-alive connections, SECONDS seconds) against
#   certdeploy — GET /v1/servers/NAME with an admin token, plain HTTP on loopback (--insecure-http), logging
#                at its default level (info: one line per request);
#   nginx      — the same response body from a file, on a loopback port of its own, its own config
#                (worker_processes auto, access log on, as shipped);
#   the floor  — certdeploy's own HTTP server answering the same bytes with no token, store or JSON
#                (bench/http_floor.cpp, $HTTP_FLOOR or build/bench/bench/http_floor), one log line per
#                request as the controller: what Beast, Asio and the server cost before any handler.
# Each is measured ROUNDS times, alternating; prints the medians of requests per second, of the p99 latency
# and of the CPU each process spent per request (user + system, /proc/PID/stat; nginx's master and
# workers), and certdeploy's and the floor's ratios to nginx. Installs Debian's wrk and nginx-light if
# they are missing.
#
#   bench/api_bench.sh BINARY [ROUNDS] [SECONDS] [THREADS] [CONNECTIONS]
# With BENCH_SUMMARY=FILE, also appends "api.KEY VALUE" lines to FILE.
set -euo pipefail
fleet_root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/fleet.sh
source "$fleet_root/bench/fleet.sh"
bin=$(realpath "${1:?usage: api_bench.sh BINARY [ROUNDS] [SECONDS] [THREADS] [CONNECTIONS]}")
rounds=${2:-3}
seconds=${3:-8}
threads=${4:-2}
connections=${5:-64}
command -v wrk >/dev/null && [ -x /usr/sbin/nginx ] ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx-light >/dev/null
work=$(mktemp -d)
chmod 755 "$work"
nginx_pid=
trap '[ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null; fleet_stop; rm -rf "$work"' EXIT
cd "$work"
fleet_start_agents "$bin" 1
fleet_servers_json 1 1 > servers.json
# The controller at its default log level, as the README runs it (info: a line per request).
fleet_start_controller "$bin" 64 info
fleet_wait_probed 1
mkdir -p www/v1/servers
curl -sf -K auth.curlrc "$fleet_url/v1/servers/s00000" > www/v1/servers/s00000
bytes=$(wc -c < www/v1/servers/s00000)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > nginx.conf <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon off;
events { worker_connections 1024; }
http {
    access_log $work/nginx-access.log;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $work/www;
    }
}
CONF
/usr/sbin/nginx -c "$work/nginx.conf" -p "$work" 2>nginx.stderr &
nginx_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/v1/servers/s00000" >/dev/null && break; sleep 0.05; done
cmp -s <(curl -sf "http://127.0.0.1:$port/v1/servers/s00000") www/v1/servers/s00000
token=$(cat data/admin.token)
# The floor: certdeploy's HTTP server alone on the same bytes (bench/http_floor.cpp), logging as the controller.
floor_bin=${HTTP_FLOOR:-$fleet_root/build/bench/bench/http_floor}
[ -x "$floor_bin" ] || { echo "api_bench.sh: build $floor_bin first (cmake --build build/bench --target http_floor)" >&2; exit 1; }
"$floor_bin" www/v1/servers/s00000 floor.addr 2>floor.log &
floor_pid=$!
fleet_pids+=("$floor_pid")
for _ in $(seq 1 100); do [ -s floor.addr ] && break; sleep 0.05; done
floor_url="http://$(cat floor.addr)"
cmp -s <(curl -sf "$floor_url/v1/servers/s00000") www/v1/servers/s00000
# CPU seconds (user + system) of the processes whose PIDs are given.
cpu_of() { for pid in "$@"; do cat "/proc/$pid/stat"; done | awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { printf "%.2f", t / hz }'; }
# "requests_per_second p99_ms cpu_us_per_request" of one wrk run against URL (more wrk arguments first);
# the CPU is that of PIDS (a comma-separated list), read from /proc before and after.
measure() {
    local pids=$1 before after
    shift
    IFS=, read -r -a pid_list <<< "$pids"
    before=$(cpu_of "${pid_list[@]}")
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$@" > wrk.out
    after=$(cpu_of "${pid_list[@]}")
    python3 - "$before" "$after" wrk.out <<'PY'
import re, sys
text = open(sys.argv[3]).read()
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("non-2xx answers: " + errors.group(1))
cpu = float(sys.argv[2]) - float(sys.argv[1])
print(rps, p99, cpu * 1e6 / requests)
PY
}
nginx_pids=$(echo "$nginx_pid" $(pgrep -P "$nginx_pid") | tr ' ' ,)
ours=()
theirs=()
floors=()
for _ in $(seq 1 "$rounds"); do
    theirs+=("$(measure "$nginx_pids" "http://127.0.0.1:$port/v1/servers/s00000")")
    floors+=("$(measure "$floor_pid" "$floor_url/v1/servers/s00000")")
    ours+=("$(measure "$fleet_controller" -H "Authorization: Bearer $token" "$fleet_url/v1/servers/s00000")")
done
rss=$(rss_mib "$fleet_controller")
python3 - "$bytes" "$rss" "${BENCH_SUMMARY:-}" "$threads" "$connections" "$seconds" "${ours[@]}" -- "${theirs[@]}" -- "${floors[@]}" <<'PY'
import statistics, sys
bytes_, rss, summary, threads, connections, seconds = sys.argv[1:7]
groups, current = [], []
for arg in sys.argv[7:] + ["--"]:
    if arg == "--":
        groups.append([tuple(map(float, r.split())) for r in current])
        current = []
    else:
        current.append(arg)
(ours_rps, ours_p99, ours_us), (nginx_rps, nginx_p99, nginx_us), (floor_rps, floor_p99, floor_us) = [
    tuple(statistics.median(r[i] for r in runs) for i in range(3)) for runs in groups]
print(f"GET /v1/servers/NAME ({bytes_} bytes), wrk -t{threads} -c{connections} -d{seconds}s, medians:")
print(f"  certdeploy  {ours_rps:8.0f} req/s  p99 {ours_p99:5.2f} ms  {ours_us:5.1f} µs CPU/request  ratio to nginx {ours_rps / nginx_rps:.2f}")
print(f"  HTTP floor  {floor_rps:8.0f} req/s  p99 {floor_p99:5.2f} ms  {floor_us:5.1f} µs CPU/request  ratio to nginx {floor_rps / nginx_rps:.2f}"
      " (certdeploy's HTTP server alone: bench/http_floor.cpp)")
print(f"  nginx       {nginx_rps:8.0f} req/s  p99 {nginx_p99:5.2f} ms  {nginx_us:5.1f} µs CPU/request")
print(f"  certdeploy's handlers (token, server row, JSON) cost {ours_us - floor_us:.1f} µs/request above the floor;"
      f" controller RSS afterwards {rss} MiB")
if summary:
    with open(summary, "a") as out:
        out.write(f"api.certdeploy_rps {ours_rps:.0f}\napi.certdeploy_p99_ms {ours_p99:.2f}\n"
                  f"api.certdeploy_cpu_us {ours_us:.1f}\napi.nginx_rps {nginx_rps:.0f}\n"
                  f"api.nginx_p99_ms {nginx_p99:.2f}\napi.nginx_cpu_us {nginx_us:.1f}\n"
                  f"api.floor_rps {floor_rps:.0f}\napi.floor_p99_ms {floor_p99:.2f}\napi.floor_cpu_us {floor_us:.1f}\n"
                  f"api.ratio {ours_rps / nginx_rps:.3f}\napi.floor_ratio {floor_rps / nginx_rps:.3f}\n")
PY
