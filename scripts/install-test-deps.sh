#!/bin/sh
# Installs the Debian 12 packages the real-program tests (tests/realprograms) and the
# benchmark (tests/bench/) run: nginx, php-fpm with the extensions the probe app and the
# image's scripts use (tests/ci/deps_test.go checks the list against them),
# PHPMailer (Moodle bundles it; the probe's get_mailer() loads Debian's), Redis,
# PostgreSQL 15 and wrk (flock, timeout and hostname, which the cron runner
# uses, are in Debian's essential set); the Docker engine, with busybox-static for
# the Engine API tests (cmd/moodlectl/dockerapi, build tag docker), openssh-server and
# iproute2 for the preflight's tests of an ssh:// and a TLS Docker host
# (stacks/preflight, build tag docker: a throwaway sshd in front of the machine's
# engine, a second dockerd on a bridge of its own), debootstrap for the
# real Docker tier's images (tests/realdocker), and the registry that tier pushes the
# built app image to (docker-registry) with its password file (htpasswd, from
# apache2-utils). Quiet, idempotent, and a no-op when all are present.
set -eu

packages="nginx-light php8.2-fpm php8.2-cli php8.2-opcache php8.2-pgsql php8.2-redis php8.2-zip
php8.2-mbstring php8.2-curl php8.2-gd php8.2-intl php8.2-xml libphp-phpmailer
redis-server postgresql-15 wrk docker.io busybox-static openssh-server iproute2 debootstrap docker-registry apache2-utils"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The tests run their own throw-away servers on free ports; the services Debian would
# start on install are not wanted. policy-rc.d (exit 101) keeps them stopped, and
# postgresql-common creates no default cluster.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=true
fi
trap '[ "$own_policy" = false ] || rm -f "$policy"' EXIT
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main-cluster.conf

echo "install-test-deps: installing$missing" >&2
apt-get update -qq
# shellcheck disable=SC2086 # the package list is split on purpose
apt-get install -y -qq --no-install-recommends $missing >/dev/null
