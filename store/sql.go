package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // registers the "sqlite" database/sql driver

	"github.com/temporaldeployer/temporaldeployer/infra/migrations"
	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/seal"
)

// SQL is the Store on a SQL database: SQLite (embedded, pure Go) or PostgreSQL (pgx).
type SQL struct {
	db     *sql.DB
	d      dialect
	signer seal.Signer // seals every ledger entry inserted (nil: unsealed)
}

var _ Store = (*SQL)(nil)

// sqliteBusyTimeoutMS is how long a SQLite connection waits for another writer before failing.
const sqliteBusyTimeoutMS = 10000

// dialect holds what differs between the two databases; the SQL text itself is shared.
type dialect struct {
	name   string // migrations.SQLite or migrations.Postgres
	driver string // database/sql driver name
}

func (d dialect) postgres() bool { return d.name == migrations.Postgres }

// rebind rewrites ? placeholders to $1, $2, ... for PostgreSQL. The shared SQL never contains a
// literal question mark.
func (d dialect) rebind(query string) string {
	if !d.postgres() {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

// Open connects to databaseURL and applies pending migrations. postgres:// and postgresql:// URLs
// use PostgreSQL; a plain path, sqlite:path, sqlite://path or file:path use SQLite (the parent
// directory is created; WAL, busy_timeout and foreign keys are enabled). Other schemes are errors.
func Open(ctx context.Context, databaseURL string) (*SQL, error) {
	d, dsn, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database %s: %w", d.name, redact.URL(databaseURL), redact.Error(err))
	}
	s := &SQL{db: db, d: d}
	if err := s.ping(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", d.name, redact.URL(databaseURL), redact.Error(err))
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate %s database %s: %w", d.name, redact.URL(databaseURL), redact.Error(err))
	}
	return s, nil
}

// ping connects. A new SQLite connection switches the file to WAL, and SQLite answers that with
// SQLITE_BUSY at once, not after busy_timeout, while another connection is doing the same: those
// are retried for up to the busy timeout.
func (s *SQL) ping(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyTimeoutMS * time.Millisecond)
	for {
		err := s.db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || s.d.postgres() || !errors.As(err, &se) || se.Code()&0xff != 5 || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the database.
func (s *SQL) Close() error { return s.db.Close() }

// Dialect names the backend: "sqlite" or "postgres".
func (s *SQL) Dialect() string { return s.d.name }

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// parseDatabaseURL picks the dialect and builds the driver's data source name.
func parseDatabaseURL(raw string) (dialect, string, error) {
	if strings.TrimSpace(raw) == "" {
		return dialect{}, "", errors.New("database URL is empty")
	}
	scheme := ""
	if m := schemeRE.FindStringSubmatch(raw); m != nil {
		scheme = strings.ToLower(m[1])
	}
	switch scheme {
	case "postgres", "postgresql":
		return dialect{name: migrations.Postgres, driver: "pgx"}, raw, nil
	case "", "sqlite", "file":
		dsn, err := sqliteDSN(raw, scheme)
		return dialect{name: migrations.SQLite, driver: "sqlite"}, dsn, err
	default:
		return dialect{}, "", fmt.Errorf("database URL %s: unsupported scheme %q "+
			"(want postgres://, postgresql://, sqlite:, file: or a plain path)", redact.URL(raw), scheme)
	}
}

// sqliteDSN turns a SQLite URL into modernc's DSN (path?params), keeping the caller's parameters
// and adding WAL, busy_timeout, foreign keys and BEGIN IMMEDIATE for write transactions.
func sqliteDSN(raw, scheme string) (string, error) {
	rest := raw
	if scheme != "" {
		// sqlite:rel, sqlite://rel, sqlite:///abs; likewise file:.
		rest = strings.TrimPrefix(raw[len(scheme)+1:], "//")
	}
	path, query, _ := strings.Cut(rest, "?")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return "", fmt.Errorf("database URL %q: want a SQLite file path (in-memory databases are not shared "+
			"between connections)", redact.URL(raw))
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("database URL %q: parse parameters: %w", redact.URL(raw), redact.Error(err))
	}
	setDefault(params, "_busy_timeout", strconv.Itoa(sqliteBusyTimeoutMS))
	setDefault(params, "_journal_mode", "WAL")
	setDefault(params, "_foreign_keys", "1")
	setDefault(params, "_txlock", "immediate")
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create directory %s for SQLite database: %w", dir, err)
		}
	}
	return path + "?" + params.Encode(), nil
}

func setDefault(v url.Values, key, value string) {
	if v.Get(key) == "" {
		v.Set(key, value)
	}
}
