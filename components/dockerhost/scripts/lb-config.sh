#!/bin/sh
# The load balancer's configuration container: it delivers the site configuration
# it was created with into the mailbox volume the load balancer watches (lb.sh), then
# stays, so that `check` can tell Docker (its health check) once the load balancer
# runs it. The stack replaces this small container whenever the configuration
# changes (the app nodes are scaled) and waits for it to turn healthy, so nodes
# scaled in are removed only after nginx stopped sending them requests.
#
#   lb-config.sh          deliver, then wait
#   lb-config.sh check    healthy when the load balancer runs this configuration,
#                         or when no load balancer runs at all (the first deployment)
set -u

BOX=/etc/nginx/moodle
STAGED=/etc/moodle-lb/moodle.conf
# A load balancer reports every second; older news means none is running.
ALIVE_SECONDS=5

if [ "${1:-}" = check ]; then
    [ -f "$BOX/status" ] || exit 0
    age=$(($(date +%s) - $(stat -c %Y "$BOX/status")))
    [ "$age" -le "$ALIVE_SECONDS" ] || exit 0
    want=$(cksum <"$STAGED")
    read -r state a b detail <"$BOX/status"
    if [ "$a $b" = "$want" ]; then
        [ "$state" = loaded ] && exit 0
        echo "the load balancer refused this configuration: $detail" >&2
        exit 1
    fi
    echo "the load balancer has not loaded this configuration yet" >&2
    exit 1
fi

cp -f "$STAGED" "$BOX/moodle.conf.tmp" && mv -f "$BOX/moodle.conf.tmp" "$BOX/moodle.conf" || exit 1
echo "lb-config: delivered the site configuration ($(cksum <"$STAGED"))"
trap 'exit 0' TERM INT QUIT
while :; do
    sleep 3600 &
    wait $!
done
