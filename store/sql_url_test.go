package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url, wantDialect, wantPath, wantErr string
	}{
		{url: "postgres://u:secret@127.0.0.1:5432/db?sslmode=disable", wantDialect: "postgres"},
		{url: "postgresql://u@h/db", wantDialect: "postgres"},
		{url: "POSTGRES://u@h/db", wantDialect: "postgres"},
		{url: dir + "/a/plain.db", wantDialect: "sqlite", wantPath: dir + "/a/plain.db"},
		{url: "sqlite:" + dir + "/b/s.db", wantDialect: "sqlite", wantPath: dir + "/b/s.db"},
		{url: "sqlite://" + dir + "/c/s.db", wantDialect: "sqlite", wantPath: dir + "/c/s.db"},
		{url: "file:" + dir + "/d/f.db?_busy_timeout=1", wantDialect: "sqlite", wantPath: dir + "/d/f.db"},
		{url: "file://" + dir + "/e/f.db", wantDialect: "sqlite", wantPath: dir + "/e/f.db"},
		{url: "mysql://u@h/db", wantErr: `unsupported scheme "mysql"`},
		{url: "http://example.com/db", wantErr: `unsupported scheme "http"`},
		{url: "", wantErr: "empty"},
		{url: ":memory:", wantErr: "in-memory"},
		{url: "sqlite:", wantErr: "file path"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d, dsn, err := parseDatabaseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.name != tt.wantDialect {
				t.Fatalf("dialect = %s, want %s", d.name, tt.wantDialect)
			}
			if tt.wantPath == "" {
				return
			}
			path, query, _ := strings.Cut(dsn, "?")
			if path != tt.wantPath {
				t.Fatalf("path = %s, want %s", path, tt.wantPath)
			}
			if _, err := os.Stat(filepath.Dir(path)); err != nil {
				t.Fatalf("parent directory not created: %v", err)
			}
			for _, p := range []string{"_journal_mode=WAL", "_foreign_keys=1", "_txlock=immediate", "_busy_timeout="} {
				if !strings.Contains(query, p) {
					t.Errorf("DSN %s lacks %s", dsn, p)
				}
			}
		})
	}
}

func TestErrorsRedactPasswords(t *testing.T) {
	_, _, err := parseDatabaseURL("mysql://u:hunter2@h/db")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want an error without the password", err)
	}
}

func TestSQLiteSettingsApplied(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	if got := (dialect{name: "sqlite"}).rebind(q); got != q {
		t.Fatalf("sqlite rebind changed the query: %s", got)
	}
	want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
	if got := (dialect{name: "postgres"}).rebind(q); got != want {
		t.Fatalf("postgres rebind = %s, want %s", got, want)
	}
}
