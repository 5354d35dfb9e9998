package sol003

import (
	"slices"
	"strings"
	"sync"
)

// NotificationKind is what kind of LCM notification the VNFM sent: its notificationType and, for an LCM operation
// occurrence, the operation and its state ("" otherwise).
type NotificationKind struct {
	Type, Operation, State string
}

// NotificationCount is how many accepted notifications (authenticated and well formed) were of one kind.
type NotificationCount struct {
	NotificationKind
	Count uint64
}

// notifiedCounts counts the notifications the endpoint accepted, by kind: what an operator reads to see that the
// VNFM's notifications arrive (a subscription silently lost shows as counts that stop while the VNFM works).
type notifiedCounts struct {
	mu     sync.Mutex
	counts map[NotificationKind]uint64
}

func (c *notifiedCounts) add(n *Notification) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[NotificationKind]uint64{}
	}
	c.counts[NotificationKind{Type: n.NotificationType, Operation: n.Operation, State: n.OperationState}]++
}

// Notifications returns the counts of the notifications accepted since the start, sorted by kind.
func (s *Source) Notifications() []NotificationCount {
	s.notified.mu.Lock()
	defer s.notified.mu.Unlock()
	out := make([]NotificationCount, 0, len(s.notified.counts))
	for k, v := range s.notified.counts {
		out = append(out, NotificationCount{NotificationKind: k, Count: v})
	}
	slices.SortFunc(out, func(a, b NotificationCount) int {
		return strings.Compare(a.Type+"\x00"+a.Operation+"\x00"+a.State, b.Type+"\x00"+b.Operation+"\x00"+b.State)
	})
	return out
}
