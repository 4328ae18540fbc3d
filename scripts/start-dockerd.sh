#!/bin/sh
# Starts a Docker daemon for the tests that talk to one (the `docker` build tag),
# unless one already answers. CI machines are fresh: Debian's docker.io installs the
# daemon but nothing starts it. Needs root; the daemon's log is /tmp/dockerd.log.
set -eu

if docker info >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "start-dockerd: no Docker daemon answers, and only root can start one" >&2
	exit 1
fi
nohup dockerd >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
	if docker info >/dev/null 2>&1; then
		exit 0
	fi
	sleep 1
done
echo "start-dockerd: dockerd did not answer within 60 s; see /tmp/dockerd.log" >&2
exit 1
