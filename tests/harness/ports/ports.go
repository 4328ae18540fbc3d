// Package ports finds TCP ports for the tests' servers on 127.0.0.1.
package ports

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// T is what Free needs of a test.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Free returns a TCP port on 127.0.0.1 that nothing listens on now, taken
// below the kernel's ephemeral range (net.ipv4.ip_local_port_range). A port the
// kernel hands out for ":0" comes from that range, which is also where every
// outgoing connection gets its source port: between this check and the server's
// own bind, a client anywhere on the machine could take it ("bind: address
// already in use", seen on the real Docker tier for a published port).
func Free(t T) int {
	t.Helper()
	const lowest = 10000
	ephemeral := 32768 // Linux's default start of the range
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				ephemeral = n
			}
		}
	}
	if ephemeral-lowest < 1000 {
		t.Fatalf("find a free port: the ephemeral range starts at %d, leaving no room below it", ephemeral)
	}
	for range 100 {
		port := lowest + rand.IntN(ephemeral-lowest)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("find a free port: 100 ports between %d and %d were all taken", lowest, ephemeral)
	return 0
}
