// Package migrations embeds the store's numbered SQL migrations.
//
// A migration is a file named NNNN_name.sql, shared by every dialect, or NNNN_name.<dialect>.sql
// when the dialects need different text (dialects: "sqlite", "postgres"). Each version has, per
// dialect, exactly one file. The store applies them in version order and records each applied
// version in schema_migrations.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Dialects a migration may be written for.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Migration is one numbered migration for one dialect.
type Migration struct {
	Version int    // the NNNN prefix
	Name    string // the file name
	SQL     string // the statements, possibly several separated by semicolons
}

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// For returns the migrations for dialect in version order.
func For(dialect string) ([]Migration, error) {
	return forDialect(files, dialect)
}

func forDialect(fsys fs.FS, dialect string) ([]Migration, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: list files: %w", err)
	}
	byVersion := map[int]Migration{}
	for _, name := range names {
		m, ok, err := parse(fsys, name, dialect)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if prev, dup := byVersion[m.Version]; dup {
			return nil, fmt.Errorf("migrations: version %d has two %s files: %s and %s",
				m.Version, dialect, prev.Name, m.Name)
		}
		byVersion[m.Version] = m
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// parse reads name if it belongs to dialect; ok is false for another dialect's file.
func parse(fsys fs.FS, name, dialect string) (m Migration, ok bool, err error) {
	base := strings.TrimSuffix(name, ".sql")
	if parts := strings.Split(base, "."); len(parts) == 2 {
		if parts[1] != SQLite && parts[1] != Postgres {
			return Migration{}, false, fmt.Errorf("migrations: %s: unknown dialect suffix %q", name, parts[1])
		}
		if parts[1] != dialect {
			return Migration{}, false, nil
		}
	} else if len(parts) > 2 {
		return Migration{}, false, fmt.Errorf("migrations: %s: want NNNN_name[.dialect].sql", name)
	}
	prefix, _, found := strings.Cut(base, "_")
	version, convErr := strconv.Atoi(prefix)
	if !found || convErr != nil || version <= 0 {
		return Migration{}, false, fmt.Errorf("migrations: %s: want a positive NNNN_ version prefix", name)
	}
	text, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Migration{}, false, fmt.Errorf("migrations: read %s: %w", name, err)
	}
	return Migration{Version: version, Name: name, SQL: string(text)}, true, nil
}
