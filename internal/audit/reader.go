package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// DefaultMaxLineBytes bounds one line of a JSON-lines audit log. The API server logs request and response bodies at
// level RequestResponse, and a big ConfigMap or CRD makes a line of a few MiB; a longer line is skipped as
// malformed rather than read into memory without bound.
const DefaultMaxLineBytes = 8 << 20

// ErrLineTooLong is the error inside a LineError for a line over the reader's limit.
var ErrLineTooLong = errors.New("line too long")

// LineError is a malformed line of a JSON-lines audit log: the file (the name given to the reader), the 1-based
// line number, and why (usually a *DecodeError). The stream goes on after it.
type LineError struct {
	File string
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ReaderStats counts what a Reader has read so far.
type ReaderStats struct {
	Lines     int64 // lines read, blank ones included
	Events    int64 // events decoded
	Malformed int64 // lines skipped as malformed or too long
}

// Reader reads audit events from JSON lines (the API server's log backend format, one Event per line). Blank lines
// are skipped; a last line without a newline is read as a line.
type Reader struct {
	br      *bufio.Reader
	name    string
	maxLine int
	buf     []byte
	stats   ReaderStats
}

// NewReader reads events from r; name identifies the input in errors (a path, or "-" for stdin).
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), name: name, maxLine: DefaultMaxLineBytes}
}

// SetMaxLineBytes changes the longest line accepted (DefaultMaxLineBytes unless set); n <= 0 restores the default.
func (r *Reader) SetMaxLineBytes(n int) {
	if n <= 0 {
		n = DefaultMaxLineBytes
	}
	r.maxLine = n
}

// Stats returns the counts so far.
func (r *Reader) Stats() ReaderStats { return r.stats }

// Next returns the next event. At the end of the input it returns io.EOF. A malformed line yields a *LineError,
// and the following call goes on with the next line; any other error is one of the underlying reader (wrapped, with
// the line number), and the stream is over.
func (r *Reader) Next() (*auditv1.Event, error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s at line %d: %w", r.name, r.stats.Lines+1, err)
		}
		if err != nil && len(line) == 0 && !tooLong {
			return nil, io.EOF
		}
		r.stats.Lines++
		if tooLong {
			r.stats.Malformed++
			return nil, &LineError{File: r.name, Line: r.stats.Lines, Err: fmt.Errorf("%w: over %d bytes, skipped", ErrLineTooLong, r.maxLine)}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev, derr := DecodeEvent(line)
		if derr != nil {
			r.stats.Malformed++
			return nil, &LineError{File: r.name, Line: r.stats.Lines, Err: derr}
		}
		r.stats.Events++
		return ev, nil
	}
}

// readLine returns the next line without its newline. A line over maxLine is consumed to its end and reported with
// tooLong, without keeping it. err is non-nil only at the end of input or on a read error; a final line without a
// newline comes with io.EOF.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.maxLine+1 { // +1: the newline does not count
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(r.buf, []byte{'\n'}), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return r.buf, tooLong, err
		}
	}
}
