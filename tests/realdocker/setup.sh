#!/usr/bin/env bash
# Prepares this machine for the real Docker tier (`make realdocker-setup`; root):
#   1. Debian's Docker engine (docker.io) and debootstrap (scripts/install-test-deps.sh);
#   2. the engine, started in the background when none answers (scripts/start-dockerd.sh);
#   3. the real pulumi-resource-docker and pulumi-resource-random plugins, built from
#      the archived sources in ../shared/providers (or PULUMI_PROVIDER_SOURCES) and
#      installed into the Pulumi plugin cache on machines that cannot download
#      them, else downloaded;
#   4. the stand-in images, built from Debian packages (images/build.sh).
# Each step is skipped when its result is already there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

sh "$repo/scripts/install-test-deps.sh"

sh "$repo/scripts/start-dockerd.sh"

# The plugins at the versions of the pinned SDKs: built from archived sources where
# they are (machines without internet), else downloaded as the engine would.
sources=${PULUMI_PROVIDER_SOURCES:-$repo/../shared/providers}
if [ -f "$sources/build.sh" ]; then
    PATH="$repo/bin:$PATH" bash "$sources/build.sh" "$repo/bin/plugins"
else
    echo "realdocker: no provider sources in $sources; downloading the plugins"
    "$repo/bin/pulumi" plugin install resource docker v4.10.0
    "$repo/bin/pulumi" plugin install resource random v4.21.1
fi

bash "$repo/tests/realdocker/images/build.sh"
