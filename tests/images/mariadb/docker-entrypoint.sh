#!/bin/bash
# Entrypoint for the Debian-built mariadb test image. Mirrors the official
# mariadb image: on an empty /var/lib/mysql it installs the system tables, sets
# the root password (root@localhost and root@'%'), creates MARIADB_DATABASE and
# MARIADB_USER (MYSQL_* names and *_FILE variants accepted) and runs
# /docker-entrypoint-initdb.d/*.sh|*.sql; an initialised datadir is used as is.
# Passwords only travel through the environment and stdin, never argv.
set -eu

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

# MARIADB_X, else MYSQL_X, each also as *_FILE; the result lands in MARIADB_X.
file_env() {
    local name="$1" v
    for v in "MARIADB_$name" "MYSQL_$name"; do
        if [ -n "${!v:-}" ]; then export "MARIADB_$name"="${!v}"; return; fi
        v="${v}_FILE"
        if [ -n "${!v:-}" ]; then export "MARIADB_$name"="$(< "${!v}")"; return; fi
    done
    export "MARIADB_$name"=
}

# Quote for SQL: 'string literal' and `identifier`.
sql_string() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

# "docker run image --option" means "mariadbd --option".
if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
    exec "$@"
fi

# As root: own the data and socket directories, then re-run as mysql.
if [ "$(id -u)" = 0 ]; then
    find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
    install -d -o mysql -g mysql -m 755 /run/mysqld
    exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

if [ ! -d "$DATADIR/mysql" ]; then
    file_env ROOT_PASSWORD
    file_env DATABASE
    file_env USER
    file_env PASSWORD
    if [ -z "$MARIADB_ROOT_PASSWORD" ]; then
        echo >&2 "ERROR: database is uninitialized and MARIADB_ROOT_PASSWORD is not set."
        echo >&2 "       Set MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD, or a *_FILE variant)."
        exit 1
    fi

    echo "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --rpm --skip-test-db \
        --auth-root-authentication-method=normal --skip-log-bin > /dev/null

    # Temporary server on the socket only, for the setup below.
    "$@" --skip-networking --socket="$SOCKET" --skip-log-bin &
    pid=$!
    for _ in $(seq 60); do
        mariadb-admin --socket="$SOCKET" -uroot ping --silent 2>/dev/null && break
        sleep 1
    done
    kill -0 "$pid" 2>/dev/null || { echo >&2 "ERROR: temporary server failed to start"; exit 1; }
    client=(mariadb --protocol=socket --socket="$SOCKET" -uroot)

    # No anonymous users, no test database; root only from localhost and '%'.
    rootpw=$(sql_string "$MARIADB_ROOT_PASSWORD")
    sql="SET @@SESSION.SQL_LOG_BIN=0;
        DELETE FROM mysql.global_priv WHERE user NOT IN ('mariadb.sys', 'root') OR host NOT IN ('localhost');
        DELETE FROM mysql.proxies_priv WHERE NOT (user = 'root' AND host = 'localhost');
        DROP DATABASE IF EXISTS test;
        FLUSH PRIVILEGES;
        SET PASSWORD FOR 'root'@'localhost' = PASSWORD($rootpw);
        CREATE USER 'root'@'%' IDENTIFIED BY $rootpw;
        GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
        GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$MARIADB_DATABASE" ]; then
        # Upstream Spiff uses MySQL 8's utf8mb4_0900_as_cs, which MariaDB lacks;
        # utf8mb4_bin is the closest case- and accent-sensitive collation.
        sql+="
        CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE")
            CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
    fi
    if [ -n "$MARIADB_USER" ] && [ -n "$MARIADB_PASSWORD" ]; then
        sql+="
        CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
        if [ -n "$MARIADB_DATABASE" ]; then
            sql+="
        GRANT ALL ON $(sql_ident "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';"
        fi
    fi
    "${client[@]}" --database=mysql <<< "$sql"

    # From here on root needs its password; MYSQL_PWD keeps it off argv.
    export MYSQL_PWD="$MARIADB_ROOT_PASSWORD"
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)  echo "$0: running $f"; . "$f" ;;
            *.sql) echo "$0: running $f"; "${client[@]}" ${MARIADB_DATABASE:+"--database=$MARIADB_DATABASE"} < "$f" ;;
            *)     echo "$0: ignoring $f" ;;
        esac
    done
    unset MYSQL_PWD

    kill "$pid"
    wait "$pid"
    echo "MariaDB init process done. Ready for start up."
fi

# Nothing secret is left in the environment of the server.
unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD
exec "$@"
