#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SEED_DIRS WORK_DIR SECONDS [LIBFUZZER_OPTION...]: fuzzes from the seed corpus (the files of
# SEED_DIRS, directories separated by ':') for SECONDS; a finding fails. Options after SECONDS (-dict=FILE,
# -max_len=N) follow the defaults here, so they override them.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/findings"
# Seeds are copied: libFuzzer adds the inputs it finds interesting to the first directory it is given. Those under
# 1 MiB: find rounds sizes up to its unit, so "-size -1M" would have meant empty files only (no seed at all).
IFS=: read -r -a seed_dirs <<<"$seeds"
find "${seed_dirs[@]}" -maxdepth 1 -type f -size -1024k -exec cp {} "$work/corpus/" \;
[ -n "$(ls -A "$work/corpus")" ] || { echo "fuzz: no seed in $seeds"; exit 1; }
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/findings/" "$@" "$work/corpus" 2>"$work/log" || { tail -60 "$work/log"; exit 1; }
grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb' "$work/log" || true
echo "fuzz: no finding in ${seconds} s"
