#!/bin/sh
# Dispatcher of the Manticore Orchestrator image: the first argument names the subcommand, the rest
# are its flags (settings come from env vars too: src/config/settings.ts).
#
#   controller | agent | job | mctl | source-feed   run dist/src/bin/<name>.js
#   healthcheck                                     Docker HEALTHCHECK: probes whatever PID 1 runs
#   sh | bash | node                                a shell or node, for debugging
set -eu

APP_DIR="${APP_DIR:-/app}"

usage() {
  echo "usage: <image> controller|agent|job|mctl|source-feed [flags...]   (or healthcheck, sh)" >&2
}

# GET a URL with node's fetch (the slim images have neither curl nor wget); 0 on 2xx.
probe() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
}

# the port of a listen address `host:port`, `:port` or `port`
port_of() {
  echo "${1##*:}"
}

cmd="${1:-controller}"
[ "$#" -gt 0 ] && shift

case "$cmd" in
  controller|agent|job|mctl|source-feed)
    exec node "$APP_DIR/dist/src/bin/$cmd.js" "$@"
    ;;
  healthcheck)
    main="$(tr '\0' ' ' < /proc/1/cmdline 2>/dev/null || true)"
    case "$main" in
      *bin/controller.js*)
        probe "http://127.0.0.1:${ORCHESTRATOR_PORT:-$(port_of "${ORCHESTRATOR_LISTEN:-${LISTEN_ADDR:-8080}}")}/api/status"
        ;;
      *bin/agent.js*)
        probe "http://127.0.0.1:$(port_of "${AGENT_LISTEN:-${LISTEN_ADDR:-19500}}")/v1/health"
        ;;
      *)
        exit 0 # job, mctl, source-feed: one-shot commands, healthy while they run
        ;;
    esac
    ;;
  sh|bash|node)
    exec "$cmd" "$@"
    ;;
  -h|--help|help)
    usage
    exit 0
    ;;
  *)
    echo "unknown subcommand '$cmd'" >&2
    usage
    exit 64
    ;;
esac
