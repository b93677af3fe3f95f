#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initialised in a fresh temporary directory,
# started on a free port on 127.0.0.1 with trust authentication and no fsync, and printed as
#
#   CRM_TEST_PG_URL=postgres://crm@127.0.0.1:PORT/postgres
#   CRM_TEST_PG_DIR=/tmp/crm-pg.XXXXXX
#
# (so `eval "$(scripts/pg-test-server.sh)"; export CRM_TEST_PG_URL` sets it).
#
#   scripts/pg-test-server.sh [--watch PID]   start; with --watch, stop and delete the
#                                             cluster once process PID has exited
#   scripts/pg-test-server.sh stop DIR        stop the cluster in DIR and delete it
#
# Finds initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin (the Debian package).
# PostgreSQL refuses to run as root: as root, the cluster runs as the user 'postgres' (or
# 'nobody' if there is none). Exits non-zero, saying why, when it cannot start a server.
set -euo pipefail

die() { echo "pg-test-server: $*" >&2; exit 1; }

bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
    die "no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install -y postgresql) or set CRM_TEST_PG_URL"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

pick_owner() {
    OWNER="$(id -un)"
    if [ "$(id -u)" = 0 ]; then
        if id postgres >/dev/null 2>&1; then OWNER=postgres; else OWNER=nobody; fi
    fi
}

stop_cluster() {
    local dir="$1"
    [ -d "$dir/data" ] || die "$dir holds no cluster"
    pick_owner
    local bin
    bin="$(bindir)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

if [ "${1:-}" = stop ]; then
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    stop_cluster "$2"
    exit 0
fi

WATCH=""
if [ "${1:-}" = --watch ]; then
    [ $# -eq 2 ] || die "usage: $0 --watch PID"
    WATCH="$2"
elif [ $# -gt 0 ]; then
    die "usage: $0 [--watch PID] | stop DIR"
fi

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
BIN="$(bindir)"
pick_owner
DIR="$(mktemp -d "${TMPDIR:-/tmp}/crm-pg.XXXXXX")"
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown "$OWNER" "$DIR"
if ! as_owner "$BIN/initdb" -D "$DIR/data" -A trust -U crm -E UTF8 --locale=C --no-sync \
        >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    rm -rf "$DIR"
    die "initdb failed (as $OWNER)"
fi

started=""
for _ in 1 2 3 4 5; do
    PORT=$(( 20000 + RANDOM % 30000 ))
    # Skip a port something already listens on.
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then continue; fi
    if as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
            -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    cat "$DIR/server.log" >&2 2>/dev/null || true
    rm -rf "$DIR"
    die "the server did not start"
fi

if [ -n "$WATCH" ]; then
    # Detached, with every descriptor closed, so a caller reading this script's output is
    # not held open by the watcher.
    nohup setsid bash -c "while kill -0 $WATCH 2>/dev/null; do sleep 1; done; \
        bash '$SELF' stop '$DIR'" </dev/null >/dev/null 2>&1 &
fi

echo "CRM_TEST_PG_URL=postgres://crm@127.0.0.1:$PORT/postgres"
echo "CRM_TEST_PG_DIR=$DIR"
