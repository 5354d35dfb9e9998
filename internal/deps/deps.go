// Package deps pins modules the detection packages under construction will import; it is removed once they do.
package deps

import (
	_ "github.com/google/cel-go/cel"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "k8s.io/apiserver/pkg/apis/audit/v1"
	_ "modernc.org/sqlite"
)
