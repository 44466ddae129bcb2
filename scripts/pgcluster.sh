# A throwaway PostgreSQL cluster for tests and benchmarks: pg_start BINDIR
# sets PG_URI; pg_stop removes everything.  PostgreSQL refuses to run as
# root, so as root the cluster belongs to the postgres (or nobody) user.
pg_start() {
    local bindir=$1 owner port
    PG_BIN=$bindir
    PG_DIR=$(mktemp -d /tmp/relief-pg.XXXXXX)
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then
        owner=postgres; id -u postgres >/dev/null 2>&1 || owner=nobody
        chown "$owner" "$PG_DIR"
        PG_AS=(runuser -u "$owner" --)
    fi
    "${PG_AS[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U postgres -A trust \
        -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
    # Durability is not under test: trade it for speed.
    "${PG_AS[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start"; }
    PG_URI=postgresql://postgres@127.0.0.1:$port/
    export PG_URI
    printf '    throwaway cluster on 127.0.0.1:%s (%s)\n' "$port" "$PG_DIR"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
}
