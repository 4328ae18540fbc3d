#!/bin/sh
# Starts a Docker daemon for the tests that talk to one (the `docker` build tag and
# the real Docker tier), unless one already answers. CI machines are fresh: Debian's
# docker.io installs the daemon but nothing starts it. Needs root; the daemon's log
# is /tmp/dockerd.log.
#
# The daemon it starts is configured as many production hosts are (dockerd-test.json
# beside this file, in place of /etc/docker/daemon.json): log options and default
# ulimits of its own, which Docker adds to every container it creates and reports in
# `docker inspect`. The real Docker tier proves the stack plans no change against
# such a daemon.
set -eu

if docker info >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "start-dockerd: no Docker daemon answers, and only root can start one" >&2
	exit 1
fi
# Inside a container (the GitHub workflows run the tests in a privileged Debian
# container) on a cgroup v2 host, the daemon can only give its containers CPU and
# memory limits once the controllers are delegated to a child group: the nesting
# step of Docker's own docker-in-docker entry point (moby hack/dind, as
# docker:dind's dockerd-entrypoint.sh runs it). Outside a container the host's init
# owns the cgroup tree, and nothing is touched.
if [ -f /.dockerenv ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	# Move the processes out of the root group, else writing subtree_control fails
	# with EBUSY; a process gone in between (xargs' own cat) is no error.
	mkdir -p /sys/fs/cgroup/init
	xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs || :
	sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
		>/sys/fs/cgroup/cgroup.subtree_control
fi
nohup dockerd --config-file "$(cd "$(dirname "$0")" && pwd)/dockerd-test.json" >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
	if docker info >/dev/null 2>&1; then
		exit 0
	fi
	sleep 1
done
echo "start-dockerd: dockerd did not answer within 60 s; see /tmp/dockerd.log" >&2
exit 1
