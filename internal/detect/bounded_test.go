package detect

import "testing"

func TestBoundedMap(t *testing.T) {
	m := newBoundedMap[int, string](3)
	for i := range 5 {
		m.put(i, "v")
	}
	if m.len() != 3 {
		t.Fatalf("len %d, want 3", m.len())
	}
	if _, ok := m.get(1); ok {
		t.Error("the oldest entries must be dropped first")
	}
	if _, ok := m.get(4); !ok {
		t.Error("the newest entry must be kept")
	}
	m.put(4, "again") // a re-put is no new insertion
	m.delete(3)
	for i := 10; i < 20; i++ { // deletions and puts make order compact itself
		m.put(i, "v")
		m.delete(i - 1)
	}
	if len(m.order) > 2*m.max+1 {
		t.Errorf("order grew to %d entries for a map of at most %d", len(m.order), m.max)
	}
	if v, ok := m.get(19); !ok || v != "v" {
		t.Error("the last put must be there")
	}
}
