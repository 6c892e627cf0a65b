#!/usr/bin/env bash
# Install the independent MCP clients tests/hosts.rs drives crmgate with, from the package
# registries, into target/host-clients (cached: a second run with the same pins does nothing):
#
#   node22/     Node 22 from npm's `node` package, when this machine's node is older than 22
#   npm/        @modelcontextprotocol/sdk 1.x (the client hosts embed), the official MCP
#               conformance suite, Ajv — pinned by tests/hosts/package-lock.json
#   py-<ver>/   a venv per official Python SDK version (`mcp` on PyPI): the last 1.x and the
#               current release
#   env         what tests/hosts.rs reads: NODE=…, NPM_DIR=…, PYTHONS="…"
#
# Every download is bounded by a timeout. Run from anywhere; .ci/run runs it before the tests.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/hosts"
out="${CRMGATE_HOST_CLIENTS:-$root/target/host-clients}"
py_versions="${CRMGATE_MCP_PY_VERSIONS:-1.30.0 2.3.0}"
limit="${CRMGATE_INSTALL_TIMEOUT:-600}"
mkdir -p "$out"

say() { printf 'host clients: %s\n' "$*"; }

# --- Node 22 or newer ---------------------------------------------------------------------
node_major() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
node=""
if command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge 22 ] 2>/dev/null; then
    node="$(command -v node)"
elif [ -x "$out/node22/node_modules/.bin/node" ] && [ "$(node_major "$out/node22/node_modules/.bin/node")" -ge 22 ]; then
    node="$out/node22/node_modules/.bin/node"
else
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to install Node 22" >&2; exit 1; }
    say "installing Node 22 from npm's node package"
    mkdir -p "$out/node22"
    timeout "$limit" npm install --prefix "$out/node22" --no-audit --no-fund --loglevel=error node@22 >/dev/null
    node="$out/node22/node_modules/.bin/node"
fi
say "node $("$node" --version) at $node"

# --- the TypeScript SDK 1.x client and the conformance suite, pinned by the lockfile ------
stamp="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
if [ "$(cat "$out/npm/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "installing the TypeScript SDK client and the conformance suite (npm ci)"
    rm -rf "$out/npm"
    mkdir -p "$out/npm"
    cp "$here/package.json" "$here/package-lock.json" "$out/npm/"
    # npm itself runs on the node just chosen (`#!/usr/bin/env node`; some pins want node >= 22)
    (cd "$out/npm" && PATH="$(dirname "$node"):$PATH" timeout "$limit" npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$stamp" > "$out/npm/.stamp"
fi

# --- the official Python SDK, each version in its own venv -------------------------------
pythons=""
for version in $py_versions; do
    venv="$out/py-$version"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$version')" 2>/dev/null; then
        say "installing mcp==$version (Python SDK)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        timeout "$limit" "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$version"
    fi
    pythons="$pythons $venv/bin/python"
done

cat > "$out/env" <<EOF
NODE=$node
NPM_DIR=$out/npm
PYTHONS=${pythons# }
EOF
say "ready: $out/env"
