#!/usr/bin/env bash
# The main job, from a fresh clone: installs packages, builds a release, makes on first run the development
# CA (run/pki: the fleet CA, and the controller's HTTPS certificate it issued) and an example certificate to
# deploy (run/Fabrikam.pfx, password in run/Fabrikam.password), then runs the controller, two local agents
# and, for each agent, a real web server to bind certificates to, all on loopback and in the foreground until
# Ctrl-C (which stops them cleanly).
#   controller: https://127.0.0.1:8080 (certificate run/pki/server.pem, issued by run/pki/ca.pem, which is
#               also its fleet CA; database in run/controller)
#   agents:     ex01 https://127.0.0.1:9001, ex02 https://127.0.0.1:9002 (mutual TLS; stores in run/ex01,
#               run/ex02). Each enrols itself on its first run with a join token (role=mailbox): its key is
#               made in run/identity/NAME and never leaves it; its certificate renews itself.
#   services:   each agent's service "web" is an nginx (Debian's nginx-light) serving HTTPS, ex01's on
#               127.0.0.1:8443 and ex02's on :8444, its files in run/web/ex01 and run/web/ex02; enabling a
#               certificate for "web" writes its files there and reloads that nginx (nginx -t first).
# For tests: CERTDEPLOY_SERVER_LISTEN changes the controller's address, CERTDEPLOY_RUN_DIR the state
# directory (default run), and CERTDEPLOY_BIN runs that executable instead of installing and building.
set -euo pipefail
origin=$PWD
cd "$(dirname "$0")/.."
if [ -n "${CERTDEPLOY_BIN:-}" ]; then
    bin=$CERTDEPLOY_BIN
else
    scripts/install-deps.sh
    scripts/build.sh build/release -DCMAKE_BUILD_TYPE=Release -DCERTDEPLOY_BUILD_TESTS=OFF
    bin=build/release/cli/certdeploy
fi

state=${CERTDEPLOY_RUN_DIR:-run}
mkdir -p "$state"
state=$(cd "$state" && pwd)  # absolute: nginx and the agents' service files need full paths
rm -f "$state"/*.addr
# Kept across runs: a rerun adds what is missing and keeps the CA the agents already trust.
"$bin" pki init "$state/pki" >/dev/null
scripts/make-example-certificate.sh "$state"

# One nginx per agent: the service "web" that the quickstart enables a certificate for. Until a certificate
# is enabled it serves a self-signed one made here; a rerun keeps whatever was deployed.
nginx_args() { printf '%s\n' -e "$state/web/$1/error.log" -c "$state/web/$1/nginx.conf"; }
start_web() {
    local name=$1 port=$2 dir="$state/web/$1"
    mkdir -p "$dir"
    if [ ! -s "$dir/site.crt" ] || [ ! -s "$dir/site.key" ]; then
        (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -subj "/CN=$name self-signed" -keyout "$dir/site.key" -out "$dir/site.crt" >/dev/null 2>&1)
    fi
    cat > "$dir/nginx.conf" <<CONF
# Written by scripts/run.sh: the web server that certdeploy's agent $name binds certificates to (service "web").
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port ssl;
        server_name mail.fabrikam.com autodiscover.fabrikam.com;
        ssl_certificate $dir/site.crt;
        ssl_certificate_key $dir/site.key;
        default_type text/plain;
        return 200 "$name: hello over HTTPS from nginx, with the certificate certdeploy enabled for the service web\n";
    }
}
CONF
    mapfile -t args < <(nginx_args "$name")
    # A web server left by a run that was killed is stopped first, so this run's configuration applies.
    [ -s "$dir/nginx.pid" ] && nginx "${args[@]}" -s quit 2>/dev/null && sleep 0.3
    nginx "${args[@]}"
}
stop_web() {
    local args pid
    mapfile -t args < <(nginx_args "$1")
    pid=$(cat "$state/web/$1/nginx.pid" 2>/dev/null) || return 0
    nginx "${args[@]}" -s quit 2>/dev/null || return 0
    # -s quit only signals: nginx's master closes its port once its workers are done, later still when an
    # agent's reload had just started new ones. The run command is over only when its web servers are.
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
}
# The service as the agent sees it: files in the pem-fullchain layout, and a reload that tests the new
# configuration before it signals nginx (a failure makes the agent put the previous files back).
web_service() {
    local dir="$state/web/$1" nginx_opts
    nginx_opts="-e $dir/error.log -c $dir/nginx.conf"
    printf '{"web": {"certFile": "%s", "keyFile": "%s", "layout": "pem-fullchain", "mode": "0600",
        "reload": ["sh", "-c", "nginx %s -t -q && nginx %s -s reload"], "reloadTimeoutSeconds": 20}}' \
        "$dir/site.crt" "$dir/site.key" "$nginx_opts" "$nginx_opts"
}

pids=()
webs=()
stop() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    for name in "${webs[@]}"; do stop_web "$name"; done
}
stopping=0
trap 'stopping=1; stop' INT TERM

# Waits for NAME's ready file; stops everything when a process ended instead.
wait_ready() {
    for _ in $(seq 1 400); do
        [ -s "$state/$1.addr" ] && return 0
        for pid in "${pids[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "run: certdeploy did not start (see the log lines above)" >&2
                stop
                exit 1
            fi
        done
        sleep 0.05
    done
}

# The controller first: its fleet CA (run/pki's) issues the agents' certificates when they enrol.
# A controller without its database knows no agent: the agents enrol again.
[ -e "$state/controller/controller.db" ] || rm -rf "$state/identity"
"$bin" server --listen "${CERTDEPLOY_SERVER_LISTEN:-127.0.0.1:8080}" --ready-file "$state/server.addr" \
    --tls-cert "$state/pki/server.pem" --tls-key "$state/pki/server.key" --data-dir "$state/controller" \
    --agent-ca "$state/pki/ca.pem" --agent-ca-key "$state/pki/ca.key" --probe-interval-seconds 5 \
    --ca-file "$state/example/root.pem" --metrics-listen 127.0.0.1:9108 &
pids+=($!)
wait_ready server
url="https://$(cat "$state/server.addr")"

# Each agent enrols itself on its first run: a join token made on this machine (certdeploy token join), and
# the fleet CA's fingerprint to check the controller against. A rerun finds its identity and needs neither.
for n in 1 2; do
    name="ex0$n"
    if ! start_web "$name" "844$((n + 2))"; then
        echo "run: nginx for $name did not start (see $state/web/$name/error.log)" >&2
        stop
        exit 1
    fi
    webs+=("$name")
    join=()
    if [ ! -s "$state/identity/$name/agent.pem" ]; then
        made=$("$bin" token join --data-dir "$state/controller" --server "$name" --labels role=mailbox --output json)
        (umask 077 && jq -r .token <<<"$made" > "$state/$name.join")
        join=(--join-token-file "$state/$name.join" --ca-fingerprint "$(jq -r .caFingerprint <<<"$made")")
    fi
    "$bin" agent --listen "127.0.0.1:900$n" --ready-file "$state/$name.addr" --name "$name" --store "$state/$name" \
        --controller "$url" --advertise-url "https://127.0.0.1:900$n" --identity-dir "$state/identity/$name" \
        "${join[@]}" --ca-file "$state/example/root.pem" --services "$(web_service "$name")" &
    pids+=($!)
    wait_ready "$name"
done
# curl's settings for the administrator: the CA that issued the controller's certificate and the admin token
# the controller made on its first start (run/controller/admin.token), as a header. Mode 0600, like the token.
(umask 077 && printf 'cacert = "%s"\nheader = "Authorization: Bearer %s"\n' "$state/pki/ca.pem" \
    "$(cat "$state/controller/admin.token")" > "$state/admin.curlrc")
# Paths as the caller's shell sees them: relative to where run.sh was started from, when under it.
shown() { realpath -s --relative-base="$origin" "$1"; }
pfx=$(shown "$state/Fabrikam.pfx")
password=$(shown "$state/Fabrikam.password")
ca=$(shown "$state/pki/ca.pem")
curlrc=$(shown "$state/admin.curlrc")
token=$(shown "$state/controller/admin.token")
# The hints below are the README's quickstart lines (tests/readme runs them as printed).
cat >&2 <<INFO
run: controller at $url, agents ex01 https://$(cat "$state/ex01.addr") and ex02 https://$(cat "$state/ex02.addr"), web servers https://127.0.0.1:8443 and :8444
run: admin token in $token (curl: -K $curlrc holds it and the CA)
run: web console at $url/ (sign in with that token; the browser must trust $ca or be told to go on)
run: Prometheus metrics at http://127.0.0.1:9108/metrics (loopback, no token) and $url/metrics (a viewer token)
run: deploy the example:  curl -s -K $curlrc -F file=@$pfx -F 'password=<$password' -F 'servers=*' $url/v1/imports
run: or, with progress:   $(shown "$bin") import $pfx --password-file $password --servers '*' --wait --controller $url --cacert $ca --token-file $token
run: then:                curl -s -K $curlrc '$url/v1/servers/ex01/certificates?status=Valid'
run: Ctrl-C stops them all
INFO
status=0
wait -n "${pids[@]}" || status=$?
stop
# Ctrl-C is the normal way out; anything else ending a process is a failure.
[ "$stopping" = 1 ] && exit 0
exit "$status"
