package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// PostgresDSNEnv names the variable that holds the DSN of the PostgreSQL the tests share (hack/postgres.sh prints
// it).
const PostgresDSNEnv = "VNFGUARD_TEST_POSTGRES"

// NewDatabase creates a database of its own on the server of dsn (a test's findings and audit queue then start
// empty, whatever ran before) and returns its DSN and a function that drops it.
func NewDatabase(ctx context.Context, dsn, prefix string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("lab: PostgreSQL DSN: %w", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("lab: connect to %s: %w", u.Redacted(), err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		_ = conn.Close(ctx)
		return "", nil, fmt.Errorf("lab: create database %s on %s: %w", name, u.Redacted(), err)
	}
	drop := func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		_ = conn.Close(context.Background())
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
