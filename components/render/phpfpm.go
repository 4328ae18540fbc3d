package render

import "github.com/moodle-cluster/moodle-pulumi/components/topology"

type phpFPMData struct {
	Listen string
	Pool   topology.Pool
	// Derived is set when max_children follows from the memory limit.
	Derived              bool
	Formula              int
	MemoryMB, ReserveMB  int
	WorkerMB, OPcacheMB  int
	MemoryLimitMB        int
	Timeout              int
	StatusPath, PingPath string
	PingResponse         string
}

func phpFPMPool(s topology.Spec, listen string) string {
	a := s.App
	return execute("php-fpm.conf.tmpl", phpFPMData{
		Listen:        listen,
		Pool:          a.Sizing(),
		Derived:       a.PHPFPM.MaxChildren == 0,
		Formula:       topology.MaxChildrenFor(a.MemoryMB, a.PHPFPM.ReserveMemoryMB, a.PHPFPM.WorkerMemoryMB),
		MemoryMB:      a.MemoryMB,
		ReserveMB:     a.PHPFPM.ReserveMemoryMB,
		WorkerMB:      a.PHPFPM.WorkerMemoryMB,
		OPcacheMB:     a.PHP.OPcacheMemoryMB,
		MemoryLimitMB: a.PHP.MemoryLimitMB,
		Timeout:       s.Web.FastCGIReadTimeout,
		StatusPath:    FPMStatusPath,
		PingPath:      FPMPingPath,
		PingResponse:  FPMPingResponse,
	})
}
