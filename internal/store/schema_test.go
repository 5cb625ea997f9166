package store

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"
)

// One schema source for both backends: every table has the same columns on SQLite and PostgreSQL.
func TestSchemaSameOnBothBackends(t *testing.T) {
	lite := openTest(t, t.TempDir())
	pg := openPostgresTest(t, newPostgresDB(t))
	ctx := context.Background()
	liteCols := columns(t, lite.DB(), `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	pgCols := columns(t, pg.DB(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`)
	if !reflect.DeepEqual(liteCols, pgCols) {
		t.Fatalf("schemas differ:\nsqlite:   %v\npostgres: %v", liteCols, pgCols)
	}
	for _, table := range []string{"a2a_tasks", "issues", "fixer_sessions", "analyses", "kv", "monitor_runs", "monitor_steps", "monitor_findings", "monitor_actions", "claims", "slack_once", "slack_threads"} {
		if _, ok := liteCols[table]; !ok {
			t.Errorf("table %s missing", table)
		}
	}
	if v, err := pg.SchemaVersion(ctx); err != nil || v != len(pg.migrations) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(pg.migrations))
	}
}

func columns(t *testing.T, db *sql.DB, q string) map[string]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		out[table] = strings.TrimPrefix(out[table]+","+col, ",")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
