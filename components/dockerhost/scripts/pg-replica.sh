#!/bin/sh
# A PostgreSQL streaming replica of the stack's primary, in the database image: the
# first start copies the primary with pg_basebackup into an empty PGDATA and marks it
# a standby; every start then runs the server command it is given, following the
# primary. The password reaches libpq through a passfile in the container's /tmp,
# never PGDATA, so no copy of it lands on the replica's volume.
#
# Environment: PGDATA, POSTGRES_USER, POSTGRES_PASSWORD_FILE, PRIMARY_HOST, and
# REPLICA_NAME, the application name the primary reports its lag under.
set -eu

if [ "$(id -u)" = 0 ]; then
    # As the official image's entry point: take the volume over, then drop to postgres.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

umask 077
passfile=/tmp/.pgpass
printf '*:*:*:%s:%s\n' "$POSTGRES_USER" "$(cat "$POSTGRES_PASSWORD_FILE")" >"$passfile"
conninfo="host=$PRIMARY_HOST user=$POSTGRES_USER application_name=$REPLICA_NAME passfile=$passfile"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "moodle-pg-replica: copying the primary $PRIMARY_HOST into $PGDATA"
    attempt=1
    until pg_basebackup -d "$conninfo" -D "$PGDATA" -X stream -w; do
        if [ "$attempt" -ge 30 ]; then
            echo "moodle-pg-replica: the primary never answered" >&2
            exit 1
        fi
        attempt=$((attempt + 1))
        rm -rf "${PGDATA:?}"/*
        sleep 2
    done
    touch "$PGDATA/standby.signal"
fi

exec "$@" -c "primary_conninfo=$conninfo"
