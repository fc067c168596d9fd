#!/usr/bin/env bash
# Prepare this machine (Debian 12, Python 3.11) for nasboard. Idempotent and fast when
# everything is already there.
#
#   bash scripts/setup.sh run   # Debian packages + .venv with nasboard[tf]
#   bash scripts/setup.sh dev   # ... + the dev tools: nasboard[tf,dev]   (the default)
#
# Environment:
#   NASBOARD_SETUP_FORCE=1   reinstall the Python packages even if nothing changed
#   NASBOARD_SKIP_APT=1      do not touch Debian packages (e.g. a machine without root)
#   PYTHON=/path/python3.11  the interpreter to create .venv with
#
# Never runs `playwright install`: the e2e tests drive Debian's /usr/bin/chromium.
set -euo pipefail

mode="${1:-dev}"
case "$mode" in
  run) extras="tf" ;;
  dev) extras="tf,dev" ;;
  *)
    echo "usage: $0 [run|dev]" >&2
    exit 2
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
venv="$repo/.venv"

log() { printf 'setup: %s\n' "$*" >&2; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

is_installed() {
  dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

# --- Python interpreter --------------------------------------------------------------------
is_py311() {
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1
}

python=""
for candidate in "${PYTHON:-}" python3.11 python3 /usr/bin/python3.11 /usr/bin/python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
    python="$(command -v "$candidate")"
    break
  fi
done

venv_ok() {
  [ -x "$venv/bin/python" ] && is_py311 "$venv/bin/python"
}

# --- Debian packages -----------------------------------------------------------------------
apt_packages=(dataset-fashion-mnist chromium postgresql redis-server)
if ! venv_ok; then
  if [ -z "$python" ]; then
    apt_packages+=(python3 python3-venv) # Debian 12's python3 is 3.11
  elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_packages+=(python3-venv) # Debian splits ensurepip out of python3
  fi
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  :
elif [ "${NASBOARD_SKIP_APT:-0}" = 1 ]; then
  log "NASBOARD_SKIP_APT=1: not installing missing Debian packages: ${missing[*]}"
else
  command -v apt-get >/dev/null 2>&1 || die "missing Debian packages (${missing[*]}) and no apt-get"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root apt-get install -y "${missing[@]}"
fi

if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
      python="$(command -v "$candidate")"
      break
    fi
  done
fi

# --- virtual environment -------------------------------------------------------------------
if ! venv_ok; then
  [ -n "$python" ] || die "no Python 3.11 found (tried \$PYTHON, python3.11, python3)"
  if [ -e "$venv" ]; then
    log "$venv is not a working Python 3.11 venv; recreating it"
    "$python" -m venv --clear "$venv"
  else
    log "creating $venv with $python"
    "$python" -m venv "$venv"
  fi
fi

# --- Python packages -----------------------------------------------------------------------
# Skip pip when pyproject.toml, constraints.txt and the extras are what we last installed and
# nasboard is still there; `dev` covers `run`.
fingerprint="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
stamp_for() { printf '%s/.nasboard-setup-%s' "$venv" "$1"; }
up_to_date() {
  local m
  for m in "$@"; do
    if [ -f "$(stamp_for "$m")" ] && [ "$(cat "$(stamp_for "$m")")" = "$fingerprint" ]; then
      return 0
    fi
  done
  return 1
}
if [ "$mode" = run ]; then wanted=(run dev); else wanted=(dev); fi

if [ "${NASBOARD_SETUP_FORCE:-0}" != 1 ] && up_to_date "${wanted[@]}" &&
  [ -x "$venv/bin/nasboard" ] &&
  "$venv/bin/python" -c 'import importlib.metadata as m; m.version("nasboard")' >/dev/null 2>&1; then
  exit 0
fi

log "installing nasboard[$extras] into $venv"
# constraints.txt: the versions the suite passed on, so a new upstream release cannot break
# a fresh install between two runs.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt \
  -e ".[$extras]"
printf '%s\n' "$fingerprint" >"$(stamp_for "$mode")"
log "ready"
