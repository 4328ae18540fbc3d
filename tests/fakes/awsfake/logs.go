package awsfake

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// LogGroup is one CloudWatch Logs log group, read through FilterLogEvents as the
// CloudWatch Logs API reference gives the operation
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html).
// GetLogEvents, which reads one stream, is not served: nothing here calls it.
type LogGroup struct {
	// Name is the group's logGroupName.
	Name string
	// BeforeRead runs before each answer, outside the group's lock: the test's
	// stand-in for whatever writes to the group (a task that started) adds its
	// events there with Put.
	BeforeRead func(*LogGroup)

	mu     sync.Mutex
	events []logEvent
}

type logEvent struct {
	id, stream, message string
	at, ingested        time.Time
}

// Put adds an event of stream written at at.
func (g *LogGroup) Put(stream string, at time.Time, message string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.events = append(g.events, logEvent{id: fmt.Sprintf("%d", len(g.events)+1), stream: stream, message: message, at: at, ingested: at})
}

// Serve answers FilterLogEvents (JSON 1.1, target Logs_20140328.FilterLogEvents)
// for this group:
//   - logGroupName names the group; another name is ResourceNotFoundException
//     ("The specified resource does not exist", Errors);
//   - startTime and endTime, milliseconds after the epoch: "Events with a
//     timestamp before this time are not returned", "Events with a timestamp
//     later than this time are not returned";
//   - events are FilteredLogEvent objects (eventId, ingestionTime,
//     logStreamName, message, timestamp), "sorted by event timestamp";
//   - one page without a nextToken: "If the results don't include a nextToken,
//     then pagination is finished". filterPattern, logStreamNames and limit are
//     not read (the callers here send none).
func (g *LogGroup) Serve(s *Server) {
	s.JSON("Logs_20140328.FilterLogEvents", func(req map[string]any) (any, error) {
		if name, _ := req["logGroupName"].(string); name != g.Name {
			return nil, fmt.Errorf("ResourceNotFoundException: The specified log group does not exist: %q", name)
		}
		if g.BeforeRead != nil {
			g.BeforeRead(g)
		}
		start, hasStart := req["startTime"].(float64)
		end, hasEnd := req["endTime"].(float64)
		g.mu.Lock()
		defer g.mu.Unlock()
		events := []map[string]any{}
		sorted := append([]logEvent(nil), g.events...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].at.Before(sorted[j].at) })
		for _, e := range sorted {
			ms := e.at.UnixMilli()
			if hasStart && ms < int64(start) || hasEnd && ms > int64(end) {
				continue
			}
			events = append(events, map[string]any{
				"eventId": e.id, "ingestionTime": e.ingested.UnixMilli(), "logStreamName": e.stream,
				"message": e.message, "timestamp": ms,
			})
		}
		return map[string]any{"events": events}, nil
	})
}
