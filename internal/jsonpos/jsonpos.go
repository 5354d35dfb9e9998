// Package jsonpos helps error messages say where in a JSON document a decoder stopped: the AdmissionReview and
// audit-event decoders both quote the text around a syntax error's offset.
package jsonpos

// Around returns up to 16 bytes either side of offset, for error messages.
func Around(data []byte, offset int64) string {
	const span = 16
	lo, hi := offset-span, offset+span
	if lo < 0 {
		lo = 0
	}
	if hi > int64(len(data)) {
		hi = int64(len(data))
	}
	if lo > hi {
		lo = hi
	}
	return string(data[lo:hi])
}
