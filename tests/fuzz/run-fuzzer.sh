#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS: fuzzes from the seed corpus for SECONDS; a finding fails.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/findings"
# Seeds are copied: libFuzzer adds the inputs it finds interesting to the first directory it is given.
find "$seeds" -maxdepth 1 -type f -size -1M -exec cp {} "$work/corpus/" \;
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/findings/" "$work/corpus" 2>"$work/log" || { tail -60 "$work/log"; exit 1; }
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/log" || true
echo "fuzz: no finding in ${seconds} s"
