package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// defaultPostgresConnectTimeout bounds each connection attempt when the URL sets no connect_timeout.
const defaultPostgresConnectTimeout = 10 * time.Second

// IsPostgresURL reports whether s selects the PostgreSQL backend.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// OpenPostgres connects to the database at url (libpq URL syntax, e.g.
// postgres://fixloop:secret@db:5432/fixloop?sslmode=require) and applies the embedded migrations.
// Several replicas may share one database: claims and read-modify-writes take per-key locks in it.
func OpenPostgres(ctx context.Context, url string) (*SQLStore, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: say only what is wrong with it.
		return nil, errors.New("store: the postgres URL does not parse (expected postgres://user:password@host:port/database?sslmode=…)")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultPostgresConnectTimeout
	}
	where := fmt.Sprintf("postgres database %q on %s:%d", cfg.Database, cfg.Host, cfg.Port)
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", where, err)
	}
	return openSQL(ctx, db, postgresDialect, where)
}

// postgresDialect: the shared schema with BYTEA, per-key advisory locks, JSON through jsonb.
var postgresDialect = &dialect{
	name:      "postgres",
	bytesType: "BYTEA",
	// A transaction-scoped advisory lock: held until commit or rollback, also by the other replicas,
	// and it works for rows that do not exist yet (where SELECT … FOR UPDATE locks nothing).
	lockKey: func(ctx context.Context, tx *sql.Tx, key string) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
		return err
	},
	statusAfter: "(data::jsonb #>> '{status,timestamp}')::timestamptz > to_timestamp(?)",
}

// rebindConnector lets the store's SQL keep SQLite's ? placeholders: each connection rewrites them to
// PostgreSQL's $1, $2… before pgx sees the query.
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: unexpected postgres driver connection %T", conn)
	}
	return rebindConn{pc}, nil
}

// rebindConn is pgx's connection with the query-taking methods rewriting placeholders; the rest
// (transactions, pings, session reset) is pgx's own.
type rebindConn struct{ *stdlib.Conn }

func (c rebindConn) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(q)) }

func (c rebindConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(q))
}

func (c rebindConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(q), args)
}

func (c rebindConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(q), args)
}

// rebind numbers the ? placeholders outside string literals ($1, $2, …). The store's queries are
// constants of this package, so quoting is the only context to respect.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n, quoted := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
