# Sourced by scripts/demo and scripts/test: a virtualenv with mailprov and the
# Debian packages the lab servers (and the PDF/browser tests) come from.
# Idempotent and quick when nothing is missing. VENV names another virtualenv
# (scripts/test-lowest uses one with the oldest versions pyproject.toml allows).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi

apt_install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV" >&2
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        echo "bootstrap: installing python3-venv" >&2
        apt_install python3-venv
        "$PY" -m venv "$VENV"
    fi
fi
stamp="$VENV/.mailprov-installed-${1:-base}"
stale() {  # no stamp yet, or pyproject.toml (or the pip constraints file) changed since
    [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || { [ -n "${PIP_CONSTRAINT:-}" ] && [ "$PIP_CONSTRAINT" -nt "$stamp" ]; }
}
if stale; then
    echo "bootstrap: installing mailprov and its dependencies into $VENV" >&2
    # pip's and setuptools' chatter (an editable install's warning banner) goes to a log, shown on failure
    log="$VENV/pip-install.log"
    if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip \
           && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[${2:-dev}]"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "bootstrap: installing into $VENV failed (the log above is in $log)" >&2
        exit 1
    fi
    touch "$stamp"
fi
# bytecode, as an installation from a wheel has it: an editable install has none, and where
# PYTHONDONTWRITEBYTECODE is set every command would compile mailprov again (35-40 ms each)
"$VENV/bin/python" -m compileall -q mailprov lab >/dev/null
# Debian packages: the lab's servers, plus any extra named by the caller
"$VENV/bin/python" -m lab.debian ${BOOTSTRAP_DEBS:-}
