package installlog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// LogsAPI is the CloudWatch Logs call the follower makes.
type LogsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// FollowCloudWatch prints the cron task's log group from since on, polling every
// poll, until a line ends the install or upgrade step (its outcome and the line
// are returned), or ctx ends. It tells the operator how the step ended and when
// the site opens: the web tasks answer 503 until it is done.
func FollowCloudWatch(ctx context.Context, api LogsAPI, group string, since time.Time, poll time.Duration, p *Printer) (Outcome, string, error) {
	seen := map[string]bool{}
	start := since.UnixMilli()
	for {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(start)}
		for {
			out, err := api.FilterLogEvents(ctx, in)
			if err != nil {
				if ctx.Err() != nil {
					return Running, "", nil
				}
				return Running, "", fmt.Errorf("read log group %s: %w", group, err)
			}
			for _, e := range out.Events {
				id := aws.ToString(e.EventId)
				if seen[id] {
					continue
				}
				seen[id] = true
				at := time.UnixMilli(aws.ToInt64(e.Timestamp))
				text := aws.ToString(e.Message)
				p.Line(at, text)
				if o := Judge(text); o != Running {
					return o, strings.TrimSpace(text), nil
				}
				// Ask from the newest event on: CloudWatch may still add older
				// ones from another stream, which seen keeps from repeating.
				start = max(start, aws.ToInt64(e.Timestamp))
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		select {
		case <-ctx.Done():
			return Running, "", nil
		case <-time.After(poll):
		}
	}
}

// AWSWatcher notes, from the engine's events of an up, whether the cron service
// was (re)deployed and which log group its task writes to.
type AWSWatcher struct {
	cron    string
	mu      sync.Mutex
	changed bool
	group   string
	at      time.Time
	now     func() time.Time
}

// NewAWSWatcher watches the service and the log group the program names cron
// (awscloud.CronName) and dates what it sees with now.
func NewAWSWatcher(cron string, now func() time.Time) *AWSWatcher {
	return &AWSWatcher{cron: cron, now: now}
}

// Event records the cron service's step and its log group's name.
func (w *AWSWatcher) Event(e events.EngineEvent) {
	if e.ResOutputsEvent == nil {
		return
	}
	m := e.ResOutputsEvent.Metadata
	if !strings.HasSuffix(m.URN, "::"+w.cron) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch m.Type {
	case "aws:ecs/service:Service":
		if m.Op != apitype.OpSame {
			w.changed, w.at = true, w.now()
		}
	case "aws:cloudwatch/logGroup:LogGroup":
		if m.New != nil {
			w.group, _ = m.New.Outputs["name"].(string)
		}
	}
}

// Pending returns the log group to follow and since when, when the up
// deployed a new cron task; ok is false otherwise.
func (w *AWSWatcher) Pending() (group string, since time.Time, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.group, w.at, w.changed && w.group != ""
}
