package ports

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestFreeIsBelowTheEphemeralRangeAndBindable(t *testing.T) {
	ephemeral := 32768
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		ephemeral, _ = strconv.Atoi(strings.Fields(string(raw))[0])
	}
	for range 50 {
		port := Free(t)
		if port < 10000 || port >= ephemeral {
			t.Fatalf("Free = %d, want 10000 <= port < %d", port, ephemeral)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		l.Close()
	}
}
