package store

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// The schema is written once, in migrations/*.sql, for both backends: the types are ones both accept
// (TEXT, INTEGER, BIGINT) except raw bytes, spelled {{bytes}} and filled in per dialect (BLOB, BYTEA).
// Never edit a released file; append the next number.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// schemaMigrations returns the migrations in order, in dialect d.
func schemaMigrations(d *dialect) ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // numbered file names give the order
	ms := make([]string, 0, len(names))
	for _, n := range names {
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("store: embedded migration %s: %w", n, err)
		}
		ms = append(ms, strings.ReplaceAll(string(b), "{{bytes}}", d.bytesType))
	}
	return ms, nil
}
