# Shared by scripts/run, scripts/test and scripts/bench: a virtualenv with
# the suite installed, created on first use and refreshed when setup.cfg or
# the module list changes.  Source it; it cds to the repository root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
STEP=0
# What config/trytond.conf leaves to the environment (absolute paths).
export TRYTOND_DATABASE__PATH=${TRYTOND_DATABASE__PATH:-$ROOT/var/db}
export TRYTOND_WEB__ROOT=${TRYTOND_WEB__ROOT:-$ROOT/var/sao/package}

step() { STEP=$((STEP + 1)); printf '\n==> [%s] %s\n' "$STEP" "$*"; }
fail() { printf '\nFAILED: %s\n' "$1" >&2; [ $# -gt 1 ] && printf 'Fix: %s\n' "$2" >&2; exit 1; }

ensure_venv() {
    local extras=${1:-}
    if [ ! -x "$PY" ]; then
        step "Creating the virtualenv .venv"
        command -v python3 >/dev/null || fail "python3 not found" \
            "install Python 3.11 (Debian: apt-get install python3 python3-venv)"
        python3 -m venv "$VENV" || fail "could not create .venv" \
            "install the venv module (Debian: apt-get install python3-venv)"
    fi
    # Reinstall when the distribution's metadata or the module list changed.
    local stamp="$VENV/.relief-installed$extras"
    local sig
    sig=$(cat setup.cfg; ls modules)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sig" ]; then
        step "Installing relief-erp and Tryton 8.0 into .venv"
        mkdir -p var
        "$PY" -m pip install --disable-pip-version-check -e ".$extras" \
            >var/pip.log 2>&1 || { tail -20 var/pip.log >&2; fail \
            "pip could not install the suite (var/pip.log has the details)" \
            "run: $PY -m pip install -e '.$extras' and read its error"; }
        printf '%s' "$sig" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}

# The modules of the suite, in dependency order (every relief module).
relief_modules() {
    local m
    for m in modules/*/tryton.cfg; do m=${m%/tryton.cfg}; echo "${m#modules/}"; done
}

# The web client, tryton-sao of the 8.0 series, with its runtime
# dependencies only (dist/ is prebuilt), in var/sao (not in git).
ensure_sao() {
    [ -f var/sao/package/index.html ] && [ -d var/sao/package/node_modules ] \
        && return 0
    step "Installing the web client (tryton-sao 8.0 from npm) into var/sao"
    command -v npm >/dev/null || fail "npm not found" \
        "install Node.js and npm (Debian: apt-get install nodejs npm)"
    rm -rf var/sao && mkdir -p var/sao
    (cd var/sao && npm pack --silent 'tryton-sao@>=8.0.0 <8.1.0' >/dev/null \
        && tar xzf tryton-sao-*.tgz && rm tryton-sao-*.tgz) \
        || fail "could not download tryton-sao from the npm registry" \
            "check that 'npm view tryton-sao' works (registry, proxy)"
    (cd var/sao/package && npm install --silent --omit=dev \
        --legacy-peer-deps --no-audit --no-fund >/dev/null) \
        || fail "npm could not install the web client's dependencies" \
            "run: cd var/sao/package && npm install --omit=dev --legacy-peer-deps"
}
