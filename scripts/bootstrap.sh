# Sourced by scripts/demo and scripts/test: a virtualenv with mailprov and the
# Debian packages the lab servers (and the PDF/browser tests) come from.
# Idempotent and quick when nothing is missing.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi

apt_install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv" >&2
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        echo "bootstrap: installing python3-venv" >&2
        apt_install python3-venv
        "$PY" -m venv .venv
    fi
fi
stamp=.venv/.mailprov-installed-${1:-base}
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing mailprov and its dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${2:-dev}]"
    touch "$stamp"
fi
# Debian packages: the lab's servers, plus any extra named by the caller
.venv/bin/python -m lab.debian ${BOOTSTRAP_DEBS:-}
