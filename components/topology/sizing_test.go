package topology

import (
	"reflect"
	"testing"
)

func TestMaxChildrenForDividesWhatIsLeftAfterTheReserve(t *testing.T) {
	tests := []struct {
		name                    string
		memory, reserve, worker int
		want                    int
	}{
		{"seed app node 8 GiB", 8192, 192, 96, 83},
		{"fargate 4 GiB task", 4096, 192, 96, 40},
		{"exactly one worker fits", 288, 192, 96, 1},
		{"one MB short of a worker", 287, 192, 96, 0},
		{"reserve eats everything", 192, 192, 96, 0},
		{"limit below the reserve", 128, 192, 96, 0},
		{"no worker size", 8192, 192, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxChildrenFor(tt.memory, tt.reserve, tt.worker); got != tt.want {
				t.Errorf("MaxChildrenFor(%d, %d, %d) = %d, want %d", tt.memory, tt.reserve, tt.worker, got, tt.want)
			}
			if n := MaxChildrenFor(tt.memory, tt.reserve, tt.worker); n > 0 && n*tt.worker+tt.reserve > tt.memory {
				t.Errorf("%d workers of %d MB plus %d MB reserve outgrow the %d MB limit", n, tt.worker, tt.reserve, tt.memory)
			}
		})
	}
}

func TestSizingDerivesThePoolAndKeepsOverrides(t *testing.T) {
	base := App{Resources: Resources{MemoryMB: 8192}, PHPFPM: PHPFPM{MaxRequests: 500, WorkerMemoryMB: 96, ReserveMemoryMB: 192}}
	tests := []struct {
		name string
		edit func(*App)
		want Pool
	}{
		{"dev defaults", func(*App) {}, Pool{MaxChildren: 83, StartServers: 14, MinSpareServers: 8, MaxSpareServers: 20, MaxRequests: 500}},
		{"single worker node", func(a *App) { a.MemoryMB = 300 }, Pool{MaxChildren: 1, StartServers: 1, MinSpareServers: 1, MaxSpareServers: 1, MaxRequests: 500}},
		{"four workers", func(a *App) { a.MemoryMB = 192 + 4*96 }, Pool{MaxChildren: 4, StartServers: 1, MinSpareServers: 1, MaxSpareServers: 1, MaxRequests: 500}},
		{"seed pool from config", func(a *App) {
			a.PHPFPM.MaxChildren, a.PHPFPM.StartServers, a.PHPFPM.MinSpareServers, a.PHPFPM.MaxSpareServers = 50, 10, 5, 20
		}, Pool{MaxChildren: 50, StartServers: 10, MinSpareServers: 5, MaxSpareServers: 20, MaxRequests: 500}},
		{"only max_children set", func(a *App) { a.PHPFPM.MaxChildren = 40 }, Pool{MaxChildren: 40, StartServers: 7, MinSpareServers: 4, MaxSpareServers: 10, MaxRequests: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.edit(&a)
			got := a.Sizing()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Sizing() = %+v, want %+v", got, tt.want)
			}
			if got.MinSpareServers > got.StartServers || got.StartServers > got.MaxSpareServers || got.MaxSpareServers > got.MaxChildren {
				t.Errorf("php-fpm would refuse min %d <= start %d <= max spare %d <= children %d",
					got.MinSpareServers, got.StartServers, got.MaxSpareServers, got.MaxChildren)
			}
		})
	}
}

func TestConnectionBudgetCoversEveryWorkerAtTheScalingCeiling(t *testing.T) {
	app := App{Replicas: 3, Resources: Resources{MemoryMB: 8192}, PHPFPM: PHPFPM{WorkerMemoryMB: 96, ReserveMemoryMB: 192}}
	tests := []struct {
		name                string
		target              Target
		maxReplicas         int
		adhocWorkers        int
		pooler              string
		poolSize            int
		wantClient, wantSrv int
	}{
		// Docker budgets for the most ad hoc workers, so scaling them never changes
		// max_connections and never restarts the database.
		{"three nodes, direct", TargetDocker, 0, 1, PoolerNone, 0, 3*83 + 2 + 20, 3*83 + 2 + 20 + 10},
		{"autoscaling to ten", TargetDocker, 10, 1, PoolerNone, 0, 10*83 + 2 + 20, 10*83 + 2 + 20 + 10},
		{"pgbouncer holds the server side", TargetDocker, 0, 1, PoolerPgBouncer, 25, 3*83 + 2 + 20, 25 + 10},
		// AWS: the nodes and the workers at their deployment surge.
		{"aws deployments double the tasks", TargetAWS, 10, 2, PoolerNone, 0, 20*83 + 2 + 4, 20*83 + 2 + 4 + 10},
		{"aws without workers", TargetAWS, 0, 0, PoolerNone, 0, 6*83 + 2, 6*83 + 2 + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := app
			a.MaxReplicas = tt.maxReplicas
			s := Spec{Target: tt.target, App: a, Database: Database{Pooler: tt.pooler, PoolSize: tt.poolSize}}
			s.Cron.Adhoc.Workers = tt.adhocWorkers
			if got := s.ClientConnections(); got != tt.wantClient {
				t.Errorf("ClientConnections() = %d, want %d", got, tt.wantClient)
			}
			if got := s.ServerConnections(); got != tt.wantSrv {
				t.Errorf("ServerConnections() = %d, want %d", got, tt.wantSrv)
			}
		})
	}
}

func TestSiteURLParts(t *testing.T) {
	tests := []struct {
		url   string
		https bool
		host  string
	}{
		{"http://localhost:8080", false, "localhost"},
		{"https://moodle.example.edu", true, "moodle.example.edu"},
		{"https://[2001:db8::1]:8443", true, "2001:db8::1"},
	}
	for _, tt := range tests {
		s := Spec{SiteURL: tt.url}
		if s.HTTPS() != tt.https || s.Hostname() != tt.host {
			t.Errorf("%s: HTTPS()=%v Hostname()=%q, want %v %q", tt.url, s.HTTPS(), s.Hostname(), tt.https, tt.host)
		}
	}
}

func TestAppNodesAreNamedOneToN(t *testing.T) {
	s := Spec{App: App{Replicas: 3}}
	if got, want := s.AppNodes(), []string{"app-1", "app-2", "app-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AppNodes() = %v, want %v", got, want)
	}
}
