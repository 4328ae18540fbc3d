#!/bin/sh
# Entry point of the app image. php-fpm, the cron runner and the ad hoc task
# workers need the rendered config.php, which the stack uploads before the
# container starts; without it Moodle would fall back to its web installer, so
# refuse to start instead. The same goes for
# code or a configuration the image cannot serve (check-image.php): Moodle code of
# another release than the image was built for, a database CA bundle or S3 plugins
# that config.php needs and the image lacks.
set -eu

case "$*" in
php-fpm*|*/moodle-cron*|*/moodle-adhoc*)
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
    MOODLE_DIRROOT="$dirroot" php /usr/local/lib/moodle/check-image.php config
    ;;
esac

exec "$@"
