// Package audit is vnfguard's intake of Kubernetes audit events (audit.k8s.io/v1): decoding of single events and
// EventList batches, a Reader over the JSON-lines files the API server's log backend writes, Follow, which tails
// such a file like `tail -F` across rotations, and a durable on-disk Queue with a bounded persistent Dedupe set,
// so that a batch accepted from the API server's webhook backend is on disk before the API server gets 200, and is
// processed exactly once from the detector's point of view after a crash.
//
// Events are decoded with encoding/json/v2 in one pass; request and response bodies stay raw JSON until the
// detector reads them. The options follow what the API server writes (member names exact and once, checked;
// invalid UTF-8 read as U+FFFD, as before), and decodeOptions says why.
//
// Bad input never stops a stream: a malformed line is returned as a *LineError naming the file and line, counted,
// and the next call carries on with the following line. Decoders never panic on any input (fuzz targets
// FuzzDecodeEvent and FuzzDecodeEventList check it).
//
// The Queue is a directory of append-only segment files. Every event is one frame: a 4-byte little-endian payload
// length, the CRC-32C of the payload, and the payload (the event as JSON). Append writes a whole batch with one
// write and one fsync. The consumer reads with Next and acknowledges with Ack (cumulative: acknowledging a record
// acknowledges every record before it); the acknowledged position is persisted in the file "ack", so that after a
// crash every appended-but-unacknowledged event is delivered again. A frame torn by a crash in the middle of a
// write fails its length or CRC check when the queue is opened, and the segment is truncated there. Consume ties
// Queue and Dedupe together in the order that loses nothing and reports nothing twice: skip if seen, process,
// remember, acknowledge.
//
// Receiver is the http.Handler for the API server's audit webhook backend: it authenticates the sender (bearer
// token or client certificate), decodes the EventList, appends it to the Queue and answers 200 only then; a full
// queue gets 429. The API server retries a failed batch on any error, but only five times with a backoff from
// --audit-webhook-initial-backoff (10s, ×1.5): a queue full for longer than about 80 seconds loses batches at the
// sender, so size MaxBytes for the longest stall of the consumer.
//
// The Queue and Dedupe belong to one process and its disk. With several replicas, package pgqueue keeps the queue
// and the dedupe in PostgreSQL instead, behind the same Appender; package intake wires either to the detection
// engine for `vnfguard serve`.
package audit
