#!/usr/bin/env bash
# A whole deployment through the real processes: one controller, AGENTS real agents over mutual TLS, and
# SERVERS registered server names spread over them (so that ten thousand targets need not be ten thousand
# processes). Once the controller's first probe round has ended and it is idle, times POST /v1/imports to
# the job's final event (the SSE stream closing) and reports, for the deployment alone (CPU as differences
# of /proc counters):
#   - wall time and targets per second;
#   - the controller's CPU per target, the agents' CPU per target;
#   - the CPU limit: all the CPU the deployment used (controller and agents) spread over this machine's
#     cores, and the efficiency (limit / wall): 1.0 would be every core busy with useful work throughout;
#   - resident memory: the controller idle before the deployment and at its peak, the largest agent.
# With more server names than agents, most targets are an agent's alreadyInstalled answer: the figure is
# then the controller's own cost per target.
#
#   bench/deploy_bench.sh BINARY [AGENTS] [SERVERS] [PARALLEL]
# With BENCH_SUMMARY=FILE, also appends "deploy.SERVERSxAGENTS.KEY VALUE" lines to FILE.
set -euo pipefail
fleet_root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/fleet.sh
source "$fleet_root/bench/fleet.sh"
bin=$(realpath "${1:?usage: deploy_bench.sh BINARY [AGENTS] [SERVERS] [PARALLEL]}")
agents=${2:-10}
servers=${3:-1000}
parallel=${4:-64}
work=$(mktemp -d)
trap 'fleet_stop; rm -rf "$work"' EXIT
cd "$work"
fleet_start_agents "$bin" "$agents"
fleet_servers_json "$agents" "$servers" > servers.json
fleet_start_controller "$bin" "$parallel"
fleet_wait_probed "$servers"
idle_rss=$(fleet_idle_rss)
ctl_before=$(cpu_seconds "$fleet_controller")
agents_before=$(cpu_seconds "${fleet_agent_pids[@]}")
fleet_deploy
ctl_cpu=$(awk -v a="$(cpu_seconds "$fleet_controller")" -v b="$ctl_before" 'BEGIN { printf "%.3f", a - b }')
agents_cpu=$(awk -v a="$(cpu_seconds "${fleet_agent_pids[@]}")" -v b="$agents_before" 'BEGIN { printf "%.3f", a - b }')
peak_rss=$(peak_rss_mib "$fleet_controller")
agent_rss=0
for pid in "${fleet_agent_pids[@]}"; do
    agent_rss=$(awk -v a="$agent_rss" -v b="$(peak_rss_mib "$pid")" 'BEGIN { print (b > a ? b : a) }')
done
python3 - "$servers" "$agents" "$parallel" "$fleet_wall" "$ctl_cpu" "$agents_cpu" "$(nproc)" "$idle_rss" \
    "$peak_rss" "$agent_rss" "$fleet_state" "${BENCH_SUMMARY:-}" <<'PY'
import sys
servers, agents, parallel = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
wall, ctl, agt, cores = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
idle_rss, peak_rss, agent_rss, state, summary = sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11], sys.argv[12]
limit = (ctl + agt) / cores
print(f"{servers} targets on {agents} agents (maxParallelTargets {parallel}): {wall:.3f} s, "
      f"{servers / wall:.0f} targets/s; CPU per target: controller {ctl / servers * 1000:.2f} ms, "
      f"agents {agt / servers * 1000:.2f} ms; CPU limit {limit:.3f} s, efficiency {limit / wall:.2f}; "
      f"RSS: controller {idle_rss} MiB idle, {peak_rss} MiB peak, largest agent {agent_rss} MiB ({state})")
if summary:
    key = f"deploy.{servers}x{agents}"
    with open(summary, "a") as out:
        for name, value in [("wall_s", f"{wall:.3f}"), ("controller_cpu_ms_per_target", f"{ctl / servers * 1000:.3f}"),
                            ("agent_cpu_ms_per_target", f"{agt / servers * 1000:.3f}"),
                            ("cpu_limit_s", f"{limit:.3f}"), ("efficiency", f"{limit / wall:.3f}"),
                            ("controller_idle_rss_mib", idle_rss), ("controller_peak_rss_mib", peak_rss),
                            ("agent_peak_rss_mib", agent_rss), ("state", state.replace(" ", "_"))]:
            out.write(f"{key}.{name} {value}\n")
PY
