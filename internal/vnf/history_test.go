package vnf

import (
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	var h History
	if h.At(time.Now()) != nil {
		t.Fatal("an empty history has no snapshot")
	}
	base := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	for i := 0; i < historyLen+10; i++ {
		h.Add(NewSnapshot("test", string(rune('a'+i%26)), base.Add(time.Duration(i)*time.Second), nil))
	}
	if got := h.At(base.Add(30*time.Second + 500*time.Millisecond)); !got.LoadedAt.Equal(base.Add(30 * time.Second)) {
		t.Errorf("At(30.5 s) = snapshot loaded at %v, want the one of 30 s", got.LoadedAt)
	}
	oldest := base.Add(10 * time.Second) // the first ten were dropped
	if got := h.At(base); !got.LoadedAt.Equal(oldest) {
		t.Errorf("a time before the history gives the oldest remembered (%v), got %v", oldest, got.LoadedAt)
	}
	latest := base.Add(time.Duration(historyLen+9) * time.Second)
	if got := h.At(latest.Add(time.Hour)); !got.LoadedAt.Equal(latest) {
		t.Errorf("a time after the last load gives the latest, got %v", got.LoadedAt)
	}
}
