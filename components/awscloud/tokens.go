package awscloud

// The type tokens of the prod target's components. A token is part of the URN of
// the component and of every resource under it, in every stack's state: changing
// one makes the next `up` delete and recreate all it holds, data included, unless
// the component is registered with pulumi.Aliases naming the old token. Keep them;
// when one must move, add the alias (tests/stack's TestResourceIdentitiesAreKept
// fails until the identities it lists are rewritten on purpose).
const (
	TypeApp           = "moodle:aws:App"
	TypeAppImage      = "moodle:aws:AppImage"
	TypeBackup        = "moodle:aws:Backup"
	TypeCDN           = "moodle:aws:CDN"
	TypeCache         = "moodle:aws:Cache"
	TypeCluster       = "moodle:aws:Cluster"
	TypeCompute       = "moodle:aws:Compute"
	TypeCron          = "moodle:aws:Cron"
	TypeDatabase      = "moodle:aws:Database"
	TypeEdge          = "moodle:aws:Edge"
	TypeFiles         = "moodle:aws:Files"
	TypeMail          = "moodle:aws:Mail"
	TypeNetwork       = "moodle:aws:Network"
	TypeObservability = "moodle:aws:Observability"
)
