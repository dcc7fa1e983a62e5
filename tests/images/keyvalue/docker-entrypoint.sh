#!/bin/sh
# Entrypoint for the Debian-built redis/valkey test images, as in the official
# images: "-opt" or "x.conf" as first argument means "<flavor>-server ...",
# and the server started as root gets /data and drops to the flavor's user.
# VALKEY_EXTRA_FLAGS (word-split) is appended to valkey-server's arguments.
set -eu
flavor="${SERVER_FLAVOR:?}"
server="${flavor}-server"

[ "$#" -gt 0 ] || set -- "$server"
case "$1" in
    -*|*.conf) set -- "$server" "$@" ;;
esac
if [ "$1" = valkey-server ] && [ -n "${VALKEY_EXTRA_FLAGS:-}" ]; then
    # shellcheck disable=SC2086
    set -- "$@" $VALKEY_EXTRA_FLAGS
    unset VALKEY_EXTRA_FLAGS
fi

if [ "$1" = "$server" ] && [ "$(id -u)" = 0 ]; then
    find . \! -user "$flavor" -exec chown "$flavor:$flavor" '{}' +
    exec setpriv --reuid="$flavor" --regid="$flavor" --init-groups "$0" "$@"
fi

# Data files readable by the server user only, unless a umask was chosen.
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi
exec "$@"
