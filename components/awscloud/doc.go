// Package awscloud provisions a topology.Spec on AWS: a VPC (or an existing one),
// an internet-facing ALB with optional WAF, ECS services for php-fpm+nginx and for
// the single cron runner, RDS PostgreSQL with read replicas, ElastiCache Redis,
// EFS or S3 for moodledata, and the alarms that watch them.
//
// It is the only package of the project that links the AWS SDK. NewCluster is the
// entry point; each part (Network, Edge, Database, Cache, Files, App, Cron,
// Observability) is a component of its own with typed arguments and outputs, so a
// reader can follow one value from the Spec to the resource that uses it.
package awscloud
