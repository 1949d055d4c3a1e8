#!/usr/bin/env bash
# certdeploy beside the tool most administrators would otherwise use, on the same N servers in one run:
#   certdeploy — N real agents (one per server) over mutual TLS; POST /v1/imports of a password-protected
#                PKCS #12 to servers=* until the events stream says `done` (every install persisted);
#   Ansible    — N hosts (ansible_connection=local, forks N), each with a store directory of its own:
#                `copy` of the same file into the store, then `community.crypto.openssl_pkcs12 action=parse`
#                to its PEM (the decryption and check an install needs), `ansible-playbook` timed whole.
# ROUNDS of each, alternating; between certdeploy rounds the certificate is removed from every server (a
# remove job, not timed) so that each round installs anew. Prints the medians and their ratio.
# Installs Debian's ansible if it is missing (benchmarks may install tools; tests never need them).
#
#   bench/ansible_bench.sh BINARY [N] [ROUNDS]
# With BENCH_SUMMARY=FILE, also appends "ansible.N.KEY VALUE" lines to FILE.
set -euo pipefail
fleet_root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/fleet.sh
source "$fleet_root/bench/fleet.sh"
bin=$(realpath "${1:?usage: ansible_bench.sh BINARY [N] [ROUNDS]}")
n=${2:-20}
rounds=${3:-3}
if ! command -v ansible-playbook >/dev/null || ! ansible-doc community.crypto.openssl_pkcs12 >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q ansible >/dev/null
fi
work=$(mktemp -d)
trap 'fleet_stop; rm -rf "$work"' EXIT
cd "$work"
fleet_start_agents "$bin" "$n"
fleet_servers_json "$n" "$n" > servers.json
fleet_start_controller "$bin" 64
fleet_wait_probed "$n"
thumbprint=$("$bin" inspect Fabrikam.pfx --password-file Fabrikam.password |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["thumbprint"])')

# Ansible: N local hosts, the system's Python (it has python3-cryptography), no facts, no retries.
python3 - "$n" > inventory.ini <<'PY'
import sys
print("[stores]")
for i in range(int(sys.argv[1])):
    print(f"h{i:03d} ansible_connection=local ansible_python_interpreter=/usr/bin/python3 store=ansible-store/h{i:03d}")
PY
cat > install.yml <<'YAML'
- hosts: stores
  gather_facts: false
  tasks:
    - name: the store
      ansible.builtin.file: {path: "{{ store }}", state: directory, mode: "0700"}
    - name: the PKCS #12 into the store
      ansible.builtin.copy: {src: Fabrikam.pfx, dest: "{{ store }}/Fabrikam.pfx", mode: "0600"}
    - name: decrypted and checked, its certificate and key written as PEM
      community.crypto.openssl_pkcs12:
        action: parse
        src: "{{ store }}/Fabrikam.pfx"
        path: "{{ store }}/Fabrikam.pem"
        passphrase: "{{ lookup('file', 'Fabrikam.password') }}"
        mode: "0600"
      no_log: true
YAML
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_STDOUT_CALLBACK=null ANSIBLE_NOCOLOR=1

certdeploy_times=()
ansible_times=()
for round in $(seq 1 "$rounds"); do
    fleet_deploy
    case "$fleet_state" in "succeeded succeeded $n failed 0") ;; *) echo "round $round: $fleet_state" >&2; exit 1 ;; esac
    certdeploy_times+=("$fleet_wall")
    # Removed everywhere again (not timed), so that the next round installs anew.
    remove=$(curl -sf -K auth.curlrc -H 'Content-Type: application/json' -d '{"servers": "*"}' \
        "$fleet_url/v1/certificates/$thumbprint/remove" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    curl -sfN -K auth.curlrc "$fleet_url/v1/jobs/$remove/events" >/dev/null

    rm -rf ansible-store
    start=$(date +%s.%N)
    ansible-playbook -i inventory.ini -f "$n" install.yml >ansible.log 2>&1 || { cat ansible.log >&2; exit 1; }
    end=$(date +%s.%N)
    [ "$(ls ansible-store/*/Fabrikam.pem | wc -l)" = "$n" ] || { echo "ansible wrote no PEM" >&2; exit 1; }
    ansible_times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
done
python3 - "$n" "${BENCH_SUMMARY:-}" "${certdeploy_times[*]}" "${ansible_times[*]}" <<'PY'
import statistics, sys
n, summary = int(sys.argv[1]), sys.argv[2]
ours = [float(t) for t in sys.argv[3].split()]
theirs = [float(t) for t in sys.argv[4].split()]
a, b = statistics.median(ours), statistics.median(theirs)
print(f"{n} servers, a password-protected PKCS #12 installed on each: certdeploy {a * 1000:.0f} ms "
      f"(rounds {', '.join(f'{t * 1000:.0f}' for t in ours)}), Ansible {b:.2f} s "
      f"(rounds {', '.join(f'{t:.2f}' for t in theirs)}): certdeploy {b / a:.0f}x faster")
if summary:
    with open(summary, "a") as out:
        out.write(f"ansible.{n}.certdeploy_s {a:.3f}\nansible.{n}.ansible_s {b:.3f}\nansible.{n}.ratio {b / a:.1f}\n")
PY
