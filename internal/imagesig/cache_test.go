package imagesig

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newLRU[int](2)
	c.put("a", 1, now.Add(time.Minute))
	c.put("b", 2, now.Add(time.Minute))
	if v, ok := c.get("a", now); !ok || v != 1 { // a is now the most recent
		t.Fatalf("get a = %d, %v", v, ok)
	}
	c.put("c", 3, now.Add(time.Minute)) // evicts b, the least recently used
	if _, ok := c.get("b", now); ok {
		t.Error("b survived eviction")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
	c.put("a", 10, now.Add(time.Second)) // update in place
	if v, ok := c.get("a", now); !ok || v != 10 {
		t.Errorf("updated a = %d, %v", v, ok)
	}
	if _, ok := c.get("a", now.Add(time.Second)); ok {
		t.Error("a returned at its expiry")
	}
	if c.len() != 1 {
		t.Errorf("len after expiry = %d, want 1", c.len())
	}
	if _, ok := c.get("missing", now); ok {
		t.Error("missing key found")
	}
	if newLRU[int](0).max != 1 {
		t.Error("a zero bound is not raised to 1")
	}
}
