package jsonpos

import "testing"

func TestAround(t *testing.T) {
	data := []byte(`{"apiVersion":"audit.k8s.io/v1","kind":"Event",,"auditID":"x"}`)
	for _, tt := range []struct {
		offset int64
		want   string
	}{
		{30, string(data[14:46])}, // 16 bytes either side
		{0, string(data[:16])},
		{int64(len(data)) + 40, ``},
		{-5, string(data[:11])},
	} {
		if got := Around(data, tt.offset); got != tt.want {
			t.Errorf("Around(%d) = %q, want %q", tt.offset, got, tt.want)
		}
	}
}
