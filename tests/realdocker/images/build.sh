#!/usr/bin/env bash
# Builds the images the real Docker tier runs, from Debian packages alone: no
# registry is reachable here. Each is a stand-in for an official image the dev stack
# names, honouring the part of its contract the stack relies on (entry point, users,
# data directories, env and *_FILE secrets, config file paths, ports):
#
#   moodle-test/postgres:15-bookworm     postgres:<version>-bookworm
#   moodle-test/redis:7.0-bookworm       redis:<version>
#   moodle-test/pgbouncer:1.18-bookworm  edoburu/pgbouncer
#   moodle-test/php:8.2-fpm-bookworm     php:<version>-fpm-bookworm, the base docker/Dockerfile builds on
#   moodle-test/postgres:17-trixie       postgres:17 (Debian 13's PostgreSQL 17, for Moodle 5.2 and 5.3)
#   moodle-test/php:8.4-fpm-trixie       php:8.4-fpm (Debian 13's PHP 8.4, for Moodle 5.2 and 5.3)
#   moodle-test/mailpit:1-bookworm       axllent/mailpit (the dev stack's mail catcher: ./mailpit)
#
# The PHP bases also carry Debian's PHPMailer, which the probe code tree loads where
# Moodle loads the copy it bundles (lib/phpmailer).
#
# Root file systems come from debootstrap against the mirror this machine's apt uses
# and are imported with `docker import`; a short Dockerfile then adds what an import
# cannot (stop signal, labels). The images carry their own names under moodle-test/,
# so they never shadow a real official image on a developer's machine.
#
# usage: build.sh   (root; needs debootstrap and a running Docker engine)
# Idempotent: an image whose recipe (this folder) has not changed is kept.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${MOODLE_TEST_CACHE:-/var/cache/moodle-test}
suite=bookworm
recipe=$(cd "$here" && cat build.sh ./*-entrypoint ./*-layout ./mailpit | sha256sum | cut -c1-16)

# debian_mirror prints the Debian mirror apt uses for $suite: from the deb822
# sources (a stanza whose Suites list $suite itself), else from sources.list; for
# a suite apt is not set up for (trixie on a bookworm machine), the mirror apt uses
# for the machine's own suite, which carries every Debian release.
debian_mirror() {
    local suite=${1:-$suite} m=""
    if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
        m=$(awk -v suite="$suite" '
            /^[ \t]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
            /^URIs:/   { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
            END        { if (uri != "" && hit) print uri }' /etc/apt/sources.list.d/*.sources | head -n 1)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)
    fi
    if [ -z "$m" ] && [ "$suite" != bookworm ]; then
        m=$(debian_mirror bookworm)
    fi
    if [ -z "$m" ]; then
        echo "images: no Debian mirror for $suite in apt's sources" >&2
        exit 1
    fi
    printf '%s\n' "$m"
}

current() { # image -> true when it was built from this recipe
    [ "$(docker image inspect --format '{{index .Config.Labels "org.moodle-cluster.test-recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}

# rootfs NAME SETUP PACKAGE... builds $cache/rootfs-NAME of Debian $suite: the
# packages, then the script SETUP (or "-") run inside it. It is kept between runs
# while the suite, the packages and the setup script stay the same.
rootfs() {
    local name=$1 setup=$2 dir="$cache/rootfs-$1" key
    shift 2
    key=$( { echo "$suite $*"; [ "$setup" = - ] || cat "$here/$setup"; } | sha256sum | cut -c1-16)
    if [ -f "$dir/.key" ] && [ "$(cat "$dir/.key")" = "$key" ]; then
        return
    fi
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$cache/debs"
    echo "images: debootstrap $name ($*)"
    debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$(IFS=,; echo "$*")" \
        "$suite" "$dir.tmp" "$(debian_mirror)" >"$cache/debootstrap-$name.log" 2>&1 ||
        { tail -n 30 "$cache/debootstrap-$name.log" >&2; exit 1; }
    if [ "$setup" != - ]; then
        install -m 0755 "$here/$setup" "$dir.tmp/tmp/$setup"
        chroot "$dir.tmp" "/tmp/$setup"
        rm -f "$dir.tmp/tmp/$setup"
    fi
    # No package index, cache or mirror address stays in the image.
    rm -rf "$dir.tmp"/var/lib/apt/lists/* "$dir.tmp"/var/cache/apt/*.bin "$dir.tmp"/var/cache/apt/archives/*.deb
    : >"$dir.tmp/etc/apt/sources.list"
    echo "$key" >"$dir.tmp/.key"
    mv "$dir.tmp" "$dir"
}

# image NAME BASE LINES [FILE...] builds NAME from the imported root file system BASE,
# the Dockerfile LINES and, copied to /usr/local/bin, the FILEs of this folder.
image() {
    local name=$1 base=$2 lines=$3 ctx f log
    shift 3
    log="$cache/build-$(printf '%s' "$name" | tr '/:' '--').log"
    if current "$name"; then
        echo "images: $name is current"
        return
    fi
    echo "images: building $name"
    ctx=$(mktemp -d)
    for f in "$@"; do
        install -m 0755 "$here/$f" "$ctx/$f"
        lines="COPY $f /usr/local/bin/$f
$lines"
    done
    printf 'FROM %s\n%s\nLABEL org.moodle-cluster.test-recipe=%s\n' "$base" "$lines" "$recipe" >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build --quiet -t "$name" "$ctx" >/dev/null 2>"$log" ||
        { cat "$log" >&2; exit 1; }
    rm -rf "$ctx"
}

# import NAME imports $cache/rootfs-NAME as moodle-test/rootfs-NAME:<its key>.
import() {
    local ref
    ref="moodle-test/rootfs-$1:$(cat "$cache/rootfs-$1/.key")"
    if ! docker image inspect "$ref" >/dev/null 2>&1; then
        tar -C "$cache/rootfs-$1" --exclude=./.key -c . | docker import - "$ref" >/dev/null
    fi
    printf '%s\n' "$ref"
}

suite=bookworm
rootfs backends backends-layout postgresql-15 postgresql-client-15 redis-server redis-tools pgbouncer \
    netcat-openbsd ca-certificates
rootfs php php-layout php8.2-fpm php8.2-cli php8.2-pgsql php8.2-redis php8.2-intl php8.2-gd php8.2-zip \
    php8.2-soap php8.2-xml php8.2-mbstring php8.2-curl php8.2-opcache libphp-phpmailer \
    nginx curl libfcgi-bin procps ca-certificates
rootfs mail - python3-aiosmtpd

backends=$(import backends)
php=$(import php)
mail=$(import mail)

# Moodle 5.2 and 5.3 need PHP 8.3 and PostgreSQL 16 or 17: Debian 13's.
suite=trixie
rootfs postgres-trixie backends-layout postgresql-17 postgresql-client-17 netcat-openbsd ca-certificates
rootfs php-trixie php-layout php8.4-fpm php8.4-cli php8.4-pgsql php8.4-redis php8.4-intl php8.4-gd php8.4-zip \
    php8.4-soap php8.4-xml php8.4-mbstring php8.4-curl php8.4-opcache libphp-phpmailer \
    nginx curl libfcgi-bin procps ca-certificates
postgres17=$(import postgres-trixie)
php84=$(import php-trixie)

# postgres_image NAME BASE MAJOR: the official postgres image's contract over Debian's
# PostgreSQL MAJOR.
postgres_image() {
    image "$1" "$2" "
ENV PATH=/usr/lib/postgresql/$3/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
ENTRYPOINT [\"/usr/local/bin/postgres-entrypoint\"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD [\"postgres\"]" postgres-entrypoint
}
postgres_image moodle-test/postgres:15-bookworm "$backends" 15
postgres_image moodle-test/postgres:17-trixie "$postgres17" 17

image moodle-test/redis:7.0-bookworm "$backends" '
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
EXPOSE 6379
CMD ["redis-server"]' redis-entrypoint

image moodle-test/pgbouncer:1.18-bookworm "$backends" '
USER postgres
EXPOSE 6432
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]'

# Mailpit's image: /mailpit is its entry point and, with "readyz", its health check.
image moodle-test/mailpit:1-bookworm "$mail" '
RUN ln -s /usr/local/bin/mailpit /mailpit
EXPOSE 1025 8025
ENTRYPOINT ["/mailpit"]' mailpit

for base in "8.2-fpm-bookworm $php" "8.4-fpm-trixie $php84"; do
    image "moodle-test/php:${base% *}" "${base#* }" '
ENV PHP_INI_DIR=/usr/local/etc/php
WORKDIR /var/www/html
STOPSIGNAL SIGQUIT
EXPOSE 9000
CMD ["php-fpm"]'
done

echo "images: ready (recipe $recipe)"
