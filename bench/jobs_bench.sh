#!/usr/bin/env bash
# The controller's memory with a long history: JOBS finished jobs in its store (bench/fill_jobs writes them
# through the store, as the controller does: one target each, succeeded, uploads dropped). A controller is
# started on that data directory beside one real agent; reported, from /proc:
#   - its resident memory once started and idle (VmRSS);
#   - after every job has been listed through the API (GET /v1/jobs in pages of 500, to the last page) and
#     the metrics scraped (GET /metrics counts jobs by state): VmRSS, and VmHWM, the highest it reached.
#
#   bench/jobs_bench.sh BINARY FILL_JOBS_BINARY [JOBS]
# With BENCH_SUMMARY=FILE, also appends "jobs.KEY VALUE" lines to FILE.
set -euo pipefail
fleet_root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/fleet.sh
source "$fleet_root/bench/fleet.sh"
bin=$(realpath "${1:?usage: jobs_bench.sh BINARY FILL_JOBS_BINARY [JOBS]}")
fill=$(realpath "${2:?usage: jobs_bench.sh BINARY FILL_JOBS_BINARY [JOBS]}")
jobs=${3:-100000}
work=$(mktemp -d)
trap 'fleet_stop; rm -rf "$work"' EXIT
cd "$work"
fleet_start_agents "$bin" 1
fleet_servers_json 1 1 > servers.json
"$fill" data "$jobs" 1
fleet_start_controller "$bin" 64
fleet_wait_probed 1
idle=$(fleet_idle_rss)
listed=$(python3 - "$fleet_url" <<'PY'
import json, subprocess, sys
url, after, count = sys.argv[1], "", 0
while True:
    page = json.loads(subprocess.run(["curl", "-sf", "-K", "auth.curlrc",
                                      f"{url}/v1/jobs?limit=500" + (f"&after={after}" if after else "")],
                                     capture_output=True, check=True).stdout)
    count += len(page["jobs"])
    after = page.get("next")
    if not after:
        break
print(count)
PY
)
curl -sf -K auth.curlrc "$fleet_url/metrics" > metrics.txt
grep -q 'certdeploy_jobs{kind="import",state="succeeded"} '"$jobs" metrics.txt ||
    { echo "the metrics do not count $jobs succeeded jobs" >&2; grep certdeploy_jobs metrics.txt >&2; exit 1; }
[ "$listed" -ge "$jobs" ] || { echo "listed $listed jobs of $jobs" >&2; exit 1; }
after=$(rss_mib "$fleet_controller")
peak=$(peak_rss_mib "$fleet_controller")
db=$(du -m data/controller.db | cut -f1)
echo "$jobs finished jobs in the store ($db MiB): controller RSS idle $idle MiB; after listing all $listed and" \
    "scraping the metrics $after MiB, highest $peak MiB"
if [ -n "${BENCH_SUMMARY:-}" ]; then
    printf 'jobs.%s %s\n' idle_rss_mib "$idle" after_rss_mib "$after" peak_rss_mib "$peak" >> "$BENCH_SUMMARY"
fi
