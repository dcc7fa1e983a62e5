#!/bin/sh
# Entrypoint for the Debian-built valkey test image, as in the official image:
# "-opt" or "x.conf" as first argument means "valkey-server ...", and for
# valkey-server started as root it gives /data to valkey and drops to that user.
# VALKEY_EXTRA_FLAGS (word-split) is appended to valkey-server's arguments.
set -eu

case "$1" in
    -*|*.conf) set -- valkey-server "$@" ;;
esac
if [ "$1" = valkey-server ] && [ -n "${VALKEY_EXTRA_FLAGS:-}" ]; then
    # shellcheck disable=SC2086
    set -- "$@" $VALKEY_EXTRA_FLAGS
    unset VALKEY_EXTRA_FLAGS
fi

if [ "$1" = valkey-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user valkey -exec chown valkey:valkey '{}' +
    exec setpriv --reuid=valkey --regid=valkey --init-groups "$0" "$@"
fi

# Data files readable by the server user only, unless a umask was chosen.
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi
exec "$@"
