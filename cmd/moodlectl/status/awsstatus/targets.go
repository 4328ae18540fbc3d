package awsstatus

import (
	"fmt"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
)

// FromState names the targets from a deployed prod stack's resources and outputs.
func FromState(inv inventory.Inventory) (Targets, error) {
	var t Targets
	if !inv.Deployed {
		return t, fmt.Errorf("stack %s: status reads a deployed stack's state", inv.Stack)
	}
	t.SiteURL = outStr(inv.Outputs, "siteUrl")
	t.Cluster = outStr(inv.Outputs, "ecsClusterName")
	// The services and the log group by the names the stack exports, so that
	// renaming a component in the program does not lose them here.
	t.AppService = outStr(inv.Outputs, "appServiceName")
	t.CronService = outStr(inv.Outputs, "cronServiceName")
	t.CronLogGroup = outStr(inv.Outputs, "cronLogGroupName")
	if t.AppService == "" || t.CronService == "" || t.CronLogGroup == "" {
		return t, fmt.Errorf("stack %s: its state does not name the app and cron services and the cron log group (outputs appServiceName, cronServiceName, cronLogGroupName): "+
			"it was deployed by an earlier version of this program; run up once", inv.Stack)
	}
	for _, r := range inv.Resources {
		switch {
		case r.Type == "aws:lb/loadBalancer:LoadBalancer":
			t.LoadBalancer = outStr(r.Outputs, "arnSuffix")
		case r.Type == "aws:rds/instance:Instance":
			id := outStr(r.Outputs, "identifier")
			source, replica := r.Inputs["replicateSourceDb"].(string)
			// After a restore the state also holds the instances the site left
			// (kept until retired): read only the ones it uses, the primary the
			// stack exports and its replicas.
			if serving := outStr(inv.Outputs, "databaseInstanceId"); serving != "" && id != serving && source != serving {
				continue
			}
			if replica {
				t.DBInstances = append(t.DBInstances, id)
			} else {
				t.DBInstances = append([]string{id}, t.DBInstances...)
			}
		case r.Type == "aws:elasticache/replicationGroup:ReplicationGroup":
			members, _ := r.Outputs["memberClusters"].([]any)
			for _, m := range members {
				if s, ok := m.(string); ok {
					t.CacheNodes = append(t.CacheNodes, s)
				}
			}
		}
	}
	if t.Cluster == "" || len(t.DBInstances) == 0 {
		return t, fmt.Errorf("stack %s: its state lacks the ECS cluster or the database (is it the prod program's?)", inv.Stack)
	}
	return t, nil
}

func outStr(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
