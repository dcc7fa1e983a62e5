#!/bin/bash
# Entrypoint for the Debian-built postgres test image. Mirrors the official
# postgres image: on an empty $PGDATA it runs initdb with POSTGRES_PASSWORD
# (or POSTGRES_PASSWORD_FILE), POSTGRES_USER and POSTGRES_DB, then runs
# /docker-entrypoint-initdb.d/*.sh|*.sql; an initialised $PGDATA is used as is.
# The password only ever travels through files and pipes, never argv.
set -eu

# VAR or VAR_FILE (the content of the file named by VAR_FILE), not both.
file_env() {
    local var="$1" file_var="${1}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo >&2 "ERROR: both $var and $file_var are set (but are exclusive)"
        exit 1
    fi
    if [ -n "${!file_var:-}" ]; then
        export "$var"="$(< "${!file_var}")"
    fi
    unset "$file_var"
}

# "docker run image -c foo=bar" means "postgres -c foo=bar".
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
if [ "$1" != 'postgres' ]; then
    exec "$@"
fi

# As root: own the data and socket directories, then re-run as postgres.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$PGDATA"
    install -d -o postgres -g postgres -m 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo >&2 "ERROR: database is uninitialized and POSTGRES_PASSWORD is not set."
        echo >&2 "       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty password."
        exit 1
    fi
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

    # Socket connections inside the container are trusted (as upstream);
    # every TCP connection, localhost included, needs the scram password.
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-}
    printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"

    # Temporary server on the unix socket only, for the setup below.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    psql=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER")
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)  echo "$0: running $f"; . "$f" ;;
            *.sql) echo "$0: running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *)     echo "$0: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
fi

# Nothing secret is left in the environment of the server.
unset POSTGRES_PASSWORD
exec "$@"
