package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// FollowOptions tunes Follow. The zero value reads from the beginning, polls every 250ms besides fsnotify, and logs
// malformed lines.
type FollowOptions struct {
	// FromEnd starts at the end of the file as it is when Follow starts (a file that does not exist yet, and files
	// that replace it after a rotation, are read from their beginning).
	FromEnd bool
	// PollInterval is how often the file is looked at when no fsnotify event arrives: the fallback where fsnotify is
	// unavailable (NFS, inotify limits) and the safety net against a missed event. Default 250ms.
	PollInterval time.Duration
	// MaxLineBytes bounds one line; default DefaultMaxLineBytes.
	MaxLineBytes int
	// Malformed, when set, is called for every malformed line (the stream goes on); it is how callers count them.
	Malformed func(*LineError)
	// Logger gets rotation, truncation and malformed-line records; default slog.Default().
	Logger *slog.Logger
}

// Follow reads the JSON-lines audit log at path and calls fn for every event, following appends like `tail -F`:
// when the file is renamed away and a new one created (the API server's own rotation, logrotate), it reads the old
// file to its end and then the new one from its beginning; when the file shrinks (logrotate copytruncate) it starts
// again at offset 0. A last line without a newline is kept until the writer completes it. A file that does not exist
// yet is waited for. Malformed lines are skipped (see FollowOptions.Malformed). Follow returns ctx.Err() when ctx is
// done, or the first error of fn or of reading, wrapped with the path and line.
func Follow(ctx context.Context, path string, fn func(*auditv1.Event) error, opts FollowOptions) error {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	fl := &follower{ctx: ctx, path: filepath.Clean(path), fn: fn, opts: opts, log: opts.Logger.With("file", path), buf: make([]byte, 64<<10)}
	defer fl.close()

	// Watch the directory, not the file: the file's own watch is lost when it is renamed, and the directory is
	// where the replacement appears.
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		fl.log.Warn("fsnotify unavailable, polling the audit log", "interval", opts.PollInterval, "err", err)
	} else {
		defer w.Close()
		if err := w.Add(filepath.Dir(fl.path)); err != nil {
			fl.log.Warn("cannot watch the audit log's directory, polling", "interval", opts.PollInterval, "err", err)
		} else {
			events, errs = w.Events, w.Errors
		}
	}
	tick := time.NewTicker(opts.PollInterval)
	defer tick.Stop()

	// FromEnd concerns only the file present at the start: one that appears later is new, and read in full.
	atEnd, waitingLogged := opts.FromEnd, false
	for {
		if fl.f == nil {
			err := fl.open(atEnd)
			atEnd = false
			switch {
			case err == nil:
			case errors.Is(err, fs.ErrNotExist):
				if !waitingLogged {
					fl.log.Info("audit log does not exist yet, waiting for it")
					waitingLogged = true
				}
			default:
				return err
			}
		}
		if fl.f != nil {
			if err := fl.step(); err != nil {
				return err
			}
			if fl.switched {
				fl.switched = false
				continue // the replacement may already hold data: read it before sleeping
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case ev, ok := <-events:
			if !ok {
				events = nil
			}
			_ = ev // any change in the directory is a reason to look; step reads only what is there
		case err, ok := <-errs:
			if !ok {
				errs = nil
			} else {
				fl.log.Warn("fsnotify error, relying on polling", "err", err)
			}
		}
	}
}

type follower struct {
	ctx      context.Context
	path     string
	fn       func(*auditv1.Event) error
	opts     FollowOptions
	log      *slog.Logger
	f        *os.File
	info     os.FileInfo
	offset   int64  // bytes of f consumed into partial or handed out
	partial  []byte // an incomplete last line, waiting for its newline
	skipping bool   // inside a line over MaxLineBytes, dropping bytes up to its newline
	line     int64  // lines completed in f
	switched bool   // a rotation replaced f in the last step
	buf      []byte
}

func (fl *follower) open(atEnd bool) error {
	f, err := os.Open(fl.path)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("follow %s: %w", fl.path, err)
	}
	fl.f, fl.info, fl.offset, fl.partial, fl.skipping, fl.line = f, info, 0, fl.partial[:0], false, 0
	if atEnd {
		fl.offset = info.Size()
		fl.log.Info("following the audit log from its end", "offset", fl.offset)
	}
	return nil
}

func (fl *follower) close() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

// step reads what the file holds beyond offset, then checks whether path still names the same file.
func (fl *follower) step() error {
	if err := fl.drain(); err != nil {
		return err
	}
	st, err := os.Stat(fl.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // renamed away, the new one not created yet: keep reading the old one
	case err != nil:
		fl.log.Warn("cannot stat the audit log, will retry", "err", err)
		return nil
	case !os.SameFile(st, fl.info):
		// Rotated by rename: what the writer appended to the old file before it switched is still to be read.
		if err := fl.drain(); err != nil {
			return err
		}
		if err := fl.flushPartial("the rotated file ends without a newline"); err != nil {
			return err
		}
		fl.log.Info("audit log rotated, reading the new file", "oldLines", fl.line)
		fl.close()
		fl.switched = true
		if err := fl.open(false); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	case st.Size() < fl.offset:
		// copytruncate: the content moved to a copy we do not read; start over in the emptied file.
		fl.log.Info("audit log truncated, reading it from the start", "offset", fl.offset, "size", st.Size(), "droppedPartial", len(fl.partial))
		fl.offset, fl.partial, fl.skipping, fl.line, fl.switched = 0, fl.partial[:0], false, 0, true
	}
	return nil
}

// drain reads from offset to the current end and hands out every complete line.
func (fl *follower) drain() error {
	for {
		// A big file read at start-up must not delay cancellation until its end.
		if err := fl.ctx.Err(); err != nil {
			return err
		}
		n, err := fl.f.ReadAt(fl.buf, fl.offset)
		if n > 0 {
			fl.offset += int64(n)
			if err := fl.consume(fl.buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow %s: read at offset %d: %w", fl.path, fl.offset, err)
		}
	}
}

func (fl *follower) consume(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			fl.appendPartial(data)
			return nil
		}
		fl.appendPartial(data[:i])
		data = data[i+1:]
		fl.line++
		if fl.skipping {
			fl.skipping = false
			fl.malformed(fmt.Errorf("%w: over %d bytes, skipped", ErrLineTooLong, fl.opts.MaxLineBytes))
			continue
		}
		if err := fl.handle(fl.partial); err != nil {
			return err
		}
		fl.partial = fl.partial[:0]
	}
	return nil
}

func (fl *follower) appendPartial(b []byte) {
	if fl.skipping {
		return
	}
	if len(fl.partial)+len(b) > fl.opts.MaxLineBytes {
		fl.skipping = true
		fl.partial = fl.partial[:0]
		return
	}
	fl.partial = append(fl.partial, b...)
}

// flushPartial hands out an incomplete last line of a file that will not grow any more.
func (fl *follower) flushPartial(why string) error {
	if len(fl.partial) == 0 && !fl.skipping {
		return nil
	}
	fl.log.Warn("audit log line without a newline", "line", fl.line+1, "reason", why)
	return fl.consume([]byte{'\n'})
}

func (fl *follower) handle(line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	ev, err := DecodeEvent(line)
	if err != nil {
		fl.malformed(err)
		return nil
	}
	if err := fl.fn(ev); err != nil {
		return fmt.Errorf("follow %s: line %d (audit ID %s): %w", fl.path, fl.line, ev.AuditID, err)
	}
	return nil
}

func (fl *follower) malformed(err error) {
	le := &LineError{File: fl.path, Line: fl.line, Err: err}
	if fl.opts.Malformed != nil {
		fl.opts.Malformed(le)
	}
	fl.log.Warn("skipping malformed audit event", "line", le.Line, "err", err)
}
