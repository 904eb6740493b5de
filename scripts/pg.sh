#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for development and tests, with everything in one folder.
#
#   scripts/pg.sh start [--no-fsync] DIR [PORT]   initdb into DIR, start, print settings
#   scripts/pg.sh stop DIR                        stop it and remove DIR
#
# `start` listens on 127.0.0.1 only (default port: a free one) and puts its unix socket in
# DIR; both trust every connection, so no password is needed (and any user of this machine
# gets in: no place for data that matters). It creates the role `msglog` (LOGIN CREATEDB)
# and its database `msglog`, then prints shell exports on stdout (PGHOST, PGPORT, PGUSER,
# PGDATABASE for psql; MSGLOG_DATABASE_URL): `eval "$(scripts/pg.sh start /tmp/pg)"`.
# --no-fsync trades durability for speed (fsync, synchronous_commit and full_page_writes
# off): for tests only, which measure behaviour, never what survives a power cut.
#
# The server refuses to run as root, so as root it runs as the `postgres` system user and
# DIR is handed to that user. PG_BIN overrides where the binaries are.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Written first by `start`: `stop` only deletes a folder that has it.
MARKER=.msglog-pg

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { die "usage: $0 start [--no-fsync] DIR [PORT] | $0 stop DIR"; }

# Runs a PostgreSQL binary as the user that may run it: postgres when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

need_binaries() {
    local bin
    for bin in initdb pg_ctl psql; do
        [ -x "$PG_BIN/$bin" ] || die "PostgreSQL 15 binaries not found in $PG_BIN: install" \
            "them with 'apt-get install postgresql-15' (as root), or set PG_BIN to their folder"
    done
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        die "as root the server runs as the 'postgres' system user, and there is none" \
            "(apt-get install postgresql-15 makes it)"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

start() {
    local fast=0
    if [ "${1:-}" = --no-fsync ]; then fast=1; shift; fi
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
    local dir port="${2:-}"
    dir=$(realpath -m -- "$1")
    need_binaries
    # The folder goes into postgresql.conf as a quoted list of socket folders.
    case $dir in *[\',]*) die "the folder's path may hold no quote or comma: $dir" ;; esac
    if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir")" ]; then
        die "$dir exists and is not empty: give a new or empty folder"
    fi
    mkdir -p -- "$dir"
    touch -- "$dir/$MARKER"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres -- "$dir"
        runuser -u postgres -- test -w "$dir" || die "the postgres user cannot write to" \
            "$dir (a parent folder shuts it out?): use a folder under /tmp"
    fi
    # From / so that the server, run as postgres, never trips over a cwd it may not enter.
    cd /
    local initdb_opts=(-D "$dir/data" -U postgres --auth=trust --encoding=UTF8)
    # C.UTF-8, not C: pg_trgm takes only characters the locale calls alphanumeric into its
    # trigrams, and under C no Chinese character is one, so CJK text would be unsearchable.
    initdb_opts+=(--locale=C.UTF-8)
    if [ $fast = 1 ]; then initdb_opts+=(--no-sync); fi
    as_pg "$PG_BIN/initdb" "${initdb_opts[@]}" >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        die "initdb failed (log above, in $dir/initdb.log); remove the folder with: $0 stop $dir"
    }
    # Only the unix socket and 127.0.0.1, both without a password; no IPv6, no replication.
    printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' \
        | as_pg tee "$dir/data/pg_hba.conf" >/dev/null
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        if [ $fast = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null

    # A free port found here can be taken before the server binds it: try another then.
    local tries=1 chosen=$port
    if [ -z "$port" ]; then tries=3; fi
    while :; do
        if [ -z "$port" ]; then chosen=$(free_port); fi
        rm -f -- "$dir/server.log"
        if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $chosen" \
                -w -t 30 start >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        tries=$((tries - 1))
        if [ $tries -eq 0 ] || ! grep -qs 'could not bind\|already in use' "$dir/server.log"; then
            cat "$dir/pg_ctl.log" >&2
            echo "--- $dir/server.log" >&2
            cat "$dir/server.log" >&2 || true
            die "PostgreSQL did not start on port $chosen (its log is above);" \
                "remove the folder with: $0 stop $dir"
        fi
    done
    # Persisted so that a plain `pg_ctl -D DIR/data start` later comes back on the same port.
    echo "port = $chosen" | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null

    "$PG_BIN/psql" -h "$dir" -p "$chosen" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE msglog LOGIN CREATEDB" \
        -c "CREATE DATABASE msglog OWNER msglog" >/dev/null || {
        stop_server "$dir"
        die "could not create the msglog role and database; remove the folder with: $0 stop $dir"
    }
    printf 'export PGHOST=%q PGPORT=%s PGUSER=msglog PGDATABASE=msglog\n' "$dir" "$chosen"
    printf 'export MSGLOG_DATABASE_URL=%q\n' "postgresql://msglog@127.0.0.1:$chosen/msglog"
    echo "pg.sh: PostgreSQL running on 127.0.0.1:$chosen (socket in $dir);" \
        "stop it with: $0 stop $dir" >&2
}

stop_server() {
    if [ -f "$1/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null
    fi
}

stop() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(realpath -m -- "$1")
    if [ ! -e "$dir" ]; then
        echo "pg.sh: $dir does not exist: nothing to stop" >&2
        return 0
    fi
    [ -f "$dir/$MARKER" ] || die "$dir was not made by '$0 start': not touching it"
    cd /
    if [ -f "$dir/data/postmaster.pid" ]; then
        need_binaries
        stop_server "$dir"
    fi
    rm -rf -- "$dir"
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
    start) start "$@" ;;
    stop) stop "$@" ;;
    *) usage ;;
esac
