package awsfake

import (
	"fmt"
	"sync"
)

// FileSystems is the part of Amazon EFS a restore sets the restored file system
// up with: reading a file system's throughput mode, changing it, and reading and
// replacing its lifecycle configuration. Paths, bodies and errors are the Amazon
// EFS API Reference's (DescribeFileSystems, UpdateFileSystem,
// DescribeLifecycleConfiguration, PutLifecycleConfiguration), as the SDK's
// serializers send them.
type FileSystems struct {
	mu      sync.Mutex
	systems map[string]*FileSystem
	updates []string
}

// FileSystem is one file system's settings.
type FileSystem struct {
	ThroughputMode   string
	ProvisionedMiBps float64
	// Lifecycle is the lifecycle configuration's policies, each with one
	// transition ({"TransitionToIA": "AFTER_30_DAYS"}).
	Lifecycle []map[string]any
}

// Add puts a file system in the account.
func (f *FileSystems) Add(id string, fs FileSystem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.systems == nil {
		f.systems = map[string]*FileSystem{}
	}
	f.systems[id] = &fs
}

// Get returns a file system's settings now.
func (f *FileSystems) Get(id string) FileSystem {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fs := f.systems[id]; fs != nil {
		return *fs
	}
	return FileSystem{}
}

// Updates lists the UpdateFileSystem calls, as "fs-...: mode".
func (f *FileSystems) Updates() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.updates...)
}

// find returns the file system id names, or EFS's FileSystemNotFound.
func (f *FileSystems) find(id string) (*FileSystem, error) {
	fs := f.systems[id]
	if fs == nil {
		return nil, fmt.Errorf("FileSystemNotFound: file system '%s' does not exist", id)
	}
	return fs, nil
}

// Serve registers the operations on s.
func (f *FileSystems) Serve(s *Server) {
	s.REST("GET", "/2015-02-01/file-systems", func(r RESTRequest) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.Query.Get("FileSystemId")
		fs, err := f.find(id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"FileSystems": []any{f.description(id, fs)}}, nil
	})
	s.REST("PUT", "/2015-02-01/file-systems/{FileSystemId}", func(r RESTRequest) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.Labels["FileSystemId"]
		fs, err := f.find(id)
		if err != nil {
			return nil, err
		}
		mode, _ := r.Body["ThroughputMode"].(string)
		mibps, _ := r.Body["ProvisionedThroughputInMibps"].(float64)
		// "If you are changing the ThroughputMode to provisioned, you must also
		// set a value for ProvisionedThroughputInMibps" (UpdateFileSystem).
		if mode == "provisioned" && mibps == 0 {
			return nil, fmt.Errorf("BadRequest: ProvisionedThroughputInMibps is required for provisioned throughput")
		}
		if mode != "" {
			fs.ThroughputMode, fs.ProvisionedMiBps = mode, mibps
			f.updates = append(f.updates, id+": "+mode)
		}
		return f.description(id, fs), nil
	})
	s.REST("GET", "/2015-02-01/file-systems/{FileSystemId}/lifecycle-configuration", func(r RESTRequest) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fs, err := f.find(r.Labels["FileSystemId"])
		if err != nil {
			return nil, err
		}
		return map[string]any{"LifecyclePolicies": append([]map[string]any{}, fs.Lifecycle...)}, nil
	})
	s.REST("PUT", "/2015-02-01/file-systems/{FileSystemId}/lifecycle-configuration", func(r RESTRequest) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fs, err := f.find(r.Labels["FileSystemId"])
		if err != nil {
			return nil, err
		}
		// The request replaces the whole configuration; an empty list deletes it
		// (PutLifecycleConfiguration).
		fs.Lifecycle = nil
		policies, _ := r.Body["LifecyclePolicies"].([]any)
		for _, p := range policies {
			policy, _ := p.(map[string]any)
			if len(policy) != 1 {
				// "each LifecyclePolicy object have only a single transition".
				return nil, fmt.Errorf("BadRequest: a lifecycle policy with %d transitions", len(policy))
			}
			fs.Lifecycle = append(fs.Lifecycle, policy)
		}
		return map[string]any{"LifecyclePolicies": append([]map[string]any{}, fs.Lifecycle...)}, nil
	})
}

// description is a FileSystemDescription with the fields the SDK requires.
func (f *FileSystems) description(id string, fs *FileSystem) map[string]any {
	d := map[string]any{
		"FileSystemId": id, "OwnerId": "123456789012", "CreationToken": id, "CreationTime": 1796612400,
		"LifeCycleState": "available", "NumberOfMountTargets": 0, "PerformanceMode": "generalPurpose",
		"SizeInBytes": map[string]any{"Value": 0}, "Tags": []any{}, "ThroughputMode": fs.ThroughputMode,
	}
	if fs.ProvisionedMiBps > 0 {
		d["ProvisionedThroughputInMibps"] = fs.ProvisionedMiBps
	}
	return d
}
