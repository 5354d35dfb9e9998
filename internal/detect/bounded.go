package detect

import "sync"

// boundedMap is a map that keeps at most max entries, dropping the oldest insertions first, so that state the
// engine keeps across events costs a bounded amount whatever the stream holds. It is safe for concurrent use.
type boundedMap[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	items map[K]V
	order []K // insertion order, for eviction; may hold keys deleted since
}

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	return &boundedMap[K, V]{max: max, items: map[K]V{}}
}

func (m *boundedMap[K, V]) get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[k]
	return v, ok
}

func (m *boundedMap[K, V]) put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// One hash of the key, not two: the map grows by one when k is new.
	n := len(m.items)
	m.items[k] = v
	if len(m.items) > n {
		m.order = append(m.order, k)
	}
	for len(m.items) > m.max && len(m.order) > 0 {
		delete(m.items, m.order[0])
		m.order = m.order[1:]
	}
	if len(m.order) > 2*m.max {
		// Keys deleted since they were put pile up in order; compact it now and then.
		kept := m.order[:0]
		for _, k := range m.order {
			if _, ok := m.items[k]; ok {
				kept = append(kept, k)
			}
		}
		m.order = kept
	}
}

func (m *boundedMap[K, V]) delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, k)
}

func (m *boundedMap[K, V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}
