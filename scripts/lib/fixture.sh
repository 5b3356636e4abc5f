#!/usr/bin/env bash
# Sandbox fixtures (sandbox/README.md, "Fixtures"). Called by `scripts/sandbox fixture ...`.
#
#   fixture.sh apply FILE [--context C] [-n NS] [--seed N] [--timeout S]
#   fixture.sh state --context C -n NS --app APP [--summary]
#
# Needs `npm run build` and a running sandbox (control planes, node, DBMS, operator stand-in).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
node=$root/node_modules/.bin/node
[ -x "$node" ] || node=node
export SANDBOX_KUBECONFIG=${SANDBOX_KUBECONFIG:-$root/.sandbox/kubeconfig}
if [ -z "${KUBECTL:-}" ] && [ -x "$root/.sandbox/bin/kubectl" ]; then
  export KUBECTL=$root/.sandbox/bin/kubectl
fi

usage() {
  sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
  apply | state)
    js=$root/dist/sandbox/fixture/$cmd.js
    [ -f "$js" ] || {
      echo "fixture: $js missing: run npm run build" >&2
      exit 1
    }
    exec "$node" "$js" "$@"
    ;;
  *) usage ;;
esac
