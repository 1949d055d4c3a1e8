"""Prints each benchmark figure beside its goal (docs/PERFORMANCE.md) as a Markdown table.

Reads the "KEY VALUE" lines the benchmark scripts append to $BENCH_SUMMARY.
"""
import sys

figures = {}
for line in open(sys.argv[1]):
    key, _, value = line.strip().partition(" ")
    if key:
        figures[key] = value

# (what, key, goal's text, test) — the test gets the figure as a float.
GOALS = [
    ("20 targets on 20 agents, POST to `done`", "ansible.20.certdeploy_s", "≤ 0.150 s", lambda v: v <= 0.150),
    ("… its ratio to Ansible on the same 20", "ansible.20.ratio", "≥ 190×", lambda v: v >= 190),
    ("200 targets on 200 agents: efficiency (CPU limit / wall)", "deploy.200x200.efficiency", "≥ 0.8",
     lambda v: v >= 0.8),
    ("controller CPU per target (10 000 targets)", "deploy.10000x10.controller_cpu_ms_per_target", "≤ 1 ms",
     lambda v: v <= 1.0),
    ("10 000 targets on 10 agents, POST to `done`", "deploy.10000x10.wall_s", "≤ 10 s", lambda v: v <= 10),
    ("an agent's byte-identical re-install (agent CPU per alreadyInstalled, 10 000 run)",
     "deploy.10000x10.agent_cpu_ms_per_target", "≤ 0.5 ms", lambda v: v <= 0.5),
    ("API reads, ratio to nginx", "api.ratio", "≥ 0.8", lambda v: v >= 0.8),
    ("API reads, p99", "api.certdeploy_p99_ms", "< 5 ms", lambda v: v < 5),
    ("controller RSS idle (10 000 servers registered)", "deploy.10000x10.controller_idle_rss_mib", "< 32 MiB",
     lambda v: v < 32),
    ("controller RSS peak during the 10 000-target run", "deploy.10000x10.controller_peak_rss_mib", "< 64 MiB",
     lambda v: v < 64),
    ("controller RSS idle, 100 000 finished jobs in the store", "jobs.idle_rss_mib", "< 32 MiB", lambda v: v < 32),
    ("controller RSS highest, listing all 100 000 jobs", "jobs.peak_rss_mib", "< 64 MiB", lambda v: v < 64),
    ("agent RSS (largest, 200-agent run)", "deploy.200x200.agent_peak_rss_mib", "< 16 MiB", lambda v: v < 16),
]

print("| figure | measured | goal | met |")
print("|---|---|---|---|")
for what, key, goal, test in GOALS:
    value = figures.get(key)
    if value is None:
        print(f"| {what} | not measured | {goal} | — |")
        continue
    print(f"| {what} | {value} | {goal} | {'yes' if test(float(value)) else '**no**'} |")

# What bounds the API's ratio: certdeploy's HTTP server alone on the same bytes (bench/http_floor.cpp).
if "api.floor_ratio" in figures:
    print()
    print(f"The API's floor — certdeploy's HTTP server alone, no token, store or JSON — reads at "
          f"{float(figures['api.floor_ratio']):.2f}× nginx ({figures.get('api.floor_cpu_us', '?')} µs of CPU per "
          f"request against nginx's {figures.get('api.nginx_cpu_us', '?')}); the controller spends "
          f"{figures.get('api.certdeploy_cpu_us', '?')} µs.")
