#!/bin/sh
# Entrypoint for the Debian-built redis test image, as in the official image:
# "-opt" or "x.conf" as first argument means "redis-server ...", and for
# redis-server started as root it gives /data to redis and drops to that user.
set -eu

case "$1" in
    -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis:redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# Data files readable by the server user only, unless a umask was chosen.
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi
exec "$@"
