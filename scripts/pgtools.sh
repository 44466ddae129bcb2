# PostgreSQL client tools and the server's URI for scripts/backup and
# scripts/restore (sourced after common.sh).
URI=${TRYTOND_DATABASE__URI:-${TRYTOND_DATABASE_URI:-}}
case $URI in postgresql://*) ;; *)
    fail "set TRYTOND_DATABASE__URI to the PostgreSQL server" \
        "e.g. TRYTOND_DATABASE__URI=postgresql://relief@db:5432/" ;;
esac

# The URI of database $1 on that server
pg_uri() { python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$URI" "$1"; }

# The newest installed client tool $1 (pg_dump must not be older than the
# server)
pg_tool() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr) \
            "$(dirname "$(command -v "$1" 2>/dev/null || echo /x/x)")"; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return; }
    done
    fail "$1 not found" "install the PostgreSQL client (Debian: postgresql-client)"
}
