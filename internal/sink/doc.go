// Package sink delivers findings to alert outputs: JSON lines on a writer, an HTTP webhook and syslog (RFC 5424).
//
// Sinks sit behind the intake path, so the webhook never blocks its caller: it queues batches and delivers them
// from a goroutine, dropping (and counting) batches when the receiver cannot keep up rather than stalling
// detection. Syslog writes synchronously because a datagram or a buffered TCP write is cheap.
package sink
