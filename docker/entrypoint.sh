#!/bin/sh
# Entry point of the app image. php-fpm and the cron runner need the rendered
# config.php, which the stack uploads before the container starts; without it Moodle
# would fall back to its web installer, so refuse to start instead.
set -eu

case "${1:-}" in
php-fpm|/usr/local/bin/moodle-cron)
    if [ ! -r /etc/moodle/config.php ]; then
        echo "moodle-entrypoint: /etc/moodle/config.php is missing; the stack uploads it at create time" >&2
        exit 1
    fi
    # A bind-mounted code folder (codeSource hostPath) replaces the image's stub.
    dirroot="${MOODLE_DIRROOT:-/var/www/moodle}"
    if ! grep -q "/etc/moodle/config.php" "$dirroot/config.php" 2>/dev/null; then
        echo "moodle-entrypoint: $dirroot/config.php must be the one-line stub" \
            "<?php require '/etc/moodle/config.php';" >&2
        exit 1
    fi
    ;;
esac

exec "$@"
