package vnf

// NotFound is the error an Objects.Get returns for an object that does not exist: it wraps ErrNotFound, and its
// message — the kind, the object (namespace/name, or the name of a cluster-scoped one) and, when detail is not
// empty, why, in parentheses — is written only when something reads it. Detection looks up the owners and data of
// most events it judges, and nearly every lookup of a missing object ends in errors.Is(err, ErrNotFound): a message
// formatted for each cost more than the lookup.
func NotFound(kind, namespace, name, detail string) error {
	return &notFoundError{kind: kind, namespace: namespace, name: name, detail: detail}
}

type notFoundError struct{ kind, namespace, name, detail string }

func (e *notFoundError) Error() string {
	msg := e.kind + " " + e.name
	if e.namespace != "" {
		msg = e.kind + " " + e.namespace + "/" + e.name
	}
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	return msg + ": " + ErrNotFound.Error()
}

func (e *notFoundError) Unwrap() error { return ErrNotFound }
