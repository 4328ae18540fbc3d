#!/bin/sh
# The load balancer's entry point: nginx, reloaded in place whenever the stack
# delivers a new site configuration, so scaling the app tier never restarts the
# load balancer or drops a connection.
#
# The configuration container (lb-config.sh) drops moodle.conf into the mailbox
# volume at $BOX. Every second this script compares it with the one nginx runs; a
# new one is checked with `nginx -t` and loaded with SIGHUP (new workers take the
# new upstream list, old ones finish their requests), or refused, keeping the last
# good one. $BOX/status says which, and its age says this script is alive: the
# configuration container waits for it before the deployment goes on.
set -u

BOX=/etc/nginx/moodle
LIVE=/etc/nginx/conf.d/moodle.conf

# report writes "<state> <cksum of the configuration> <detail>", state being loaded
# or refused.
report() {
    printf '%s %s %s\n' "$state" "$loaded" "$detail" >"$BOX/status.tmp" && mv "$BOX/status.tmp" "$BOX/status"
}

if [ ! -s "$BOX/moodle.conf" ]; then
    echo "moodle-lb: no site configuration in $BOX: the configuration container delivers it" >&2
    exit 1
fi
cp -f "$BOX/moodle.conf" "$LIVE"
loaded=$(cksum <"$LIVE")
state=loaded
detail=

nginx -e stderr -g 'daemon off;' &
nginx=$!
# Docker's stop signal (SIGQUIT) becomes nginx's graceful shutdown.
trap 'kill -QUIT "$nginx" 2>/dev/null' QUIT TERM INT
report

while kill -0 "$nginx" 2>/dev/null; do
    sleep 1 &
    wait $! 2>/dev/null
    delivered=$(cksum <"$BOX/moodle.conf" 2>/dev/null) || delivered=$loaded
    if [ "$delivered" != "$loaded" ]; then
        # The files are read-only: -f replaces them rather than writing into them.
        if ! errors=$(cp -f "$LIVE" "$LIVE.last-good" 2>&1 && cp -f "$BOX/moodle.conf" "$LIVE" 2>&1); then
            echo "moodle-lb: cannot put the new site configuration live: $errors" >&2
            state=refused
            detail=$(printf '%s' "$errors" | tr '\n' ' ')
        elif errors=$(nginx -t 2>&1); then
            kill -HUP "$nginx"
            echo "moodle-lb: loaded the new site configuration" >&2
            state=loaded
            detail=
        else
            cp -f "$LIVE.last-good" "$LIVE"
            echo "moodle-lb: refused the new site configuration: $errors" >&2
            state=refused
            detail=$(printf '%s' "$errors" | tr '\n' ' ')
        fi
        # A refused configuration is not tried again until another one arrives.
        loaded=$delivered
    fi
    report
done
wait "$nginx"
