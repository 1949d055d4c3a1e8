#!/usr/bin/env bash
# The controller's read API beside nginx, on the same bytes, in one run: wrk (THREADS threads, CONNECTIONS
# kept-alive connections, SECONDS seconds) against
#   certdeploy — GET /v1/servers/NAME with an admin token, plain HTTP on loopback (--insecure-http), logging
#                at its default level (info: one line per request);
#   nginx      — the same response body from a file, on a loopback port of its own, its own config
#                (worker_processes auto, access log on, as shipped).
# Each is measured ROUNDS times, alternating; prints the medians of requests per second and of the p99
# latency, and certdeploy's ratio to nginx. Installs Debian's wrk and nginx-light if they are missing.
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
# wrk's own summary as "requests_per_second p99_ms".
measure() {
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$@" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("non-2xx answers: " + errors.group(1))
print(rps, p99)'
}
ours=()
theirs=()
for _ in $(seq 1 "$rounds"); do
    theirs+=("$(measure "http://127.0.0.1:$port/v1/servers/s00000")")
    ours+=("$(measure -H "Authorization: Bearer $token" "$fleet_url/v1/servers/s00000")")
done
rss=$(rss_mib "$fleet_controller")
python3 - "$bytes" "$rss" "${BENCH_SUMMARY:-}" "$threads" "$connections" "$seconds" "${ours[@]}" -- "${theirs[@]}" <<'PY'
import statistics, sys
bytes_, rss, summary, threads, connections, seconds = sys.argv[1:7]
rest = sys.argv[7:]
split = rest.index("--")
ours = [tuple(map(float, r.split())) for r in rest[:split]]
theirs = [tuple(map(float, r.split())) for r in rest[split + 1:]]
ours_rps, ours_p99 = statistics.median(r for r, _ in ours), statistics.median(p for _, p in ours)
nginx_rps, nginx_p99 = statistics.median(r for r, _ in theirs), statistics.median(p for _, p in theirs)
print(f"GET /v1/servers/NAME ({bytes_} bytes), wrk -t{threads} -c{connections} -d{seconds}s: "
      f"certdeploy {ours_rps:.0f} req/s, p99 {ours_p99:.2f} ms; nginx {nginx_rps:.0f} req/s, p99 {nginx_p99:.2f} ms; "
      f"ratio {ours_rps / nginx_rps:.2f}; controller RSS afterwards {rss} MiB")
if summary:
    with open(summary, "a") as out:
        out.write(f"api.certdeploy_rps {ours_rps:.0f}\napi.certdeploy_p99_ms {ours_p99:.2f}\n"
                  f"api.nginx_rps {nginx_rps:.0f}\napi.nginx_p99_ms {nginx_p99:.2f}\napi.ratio {ours_rps / nginx_rps:.3f}\n")
PY
