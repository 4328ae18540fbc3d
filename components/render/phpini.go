package render

import "github.com/moodle-cluster/moodle-pulumi/components/topology"

// maxAcceleratedFiles is opcache.max_accelerated_files: Moodle asks for at least
// 10000, and a 5.x code base with plugins holds about twice that.
const maxAcceleratedFiles = 20000

type phpIniData struct {
	MemoryLimitMB, MaxExecutionTime, MaxInputVars int
	UploadMB, OPcacheMB, MaxAcceleratedFiles      int
}

func phpIni(s topology.Spec) string {
	p := s.App.PHP
	return execute("php.ini.tmpl", phpIniData{
		MemoryLimitMB:       p.MemoryLimitMB,
		MaxExecutionTime:    p.MaxExecutionTime,
		MaxInputVars:        p.MaxInputVars,
		UploadMB:            s.Web.ClientMaxBodyMB,
		OPcacheMB:           p.OPcacheMemoryMB,
		MaxAcceleratedFiles: maxAcceleratedFiles,
	})
}
