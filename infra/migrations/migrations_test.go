package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedMigrationsCoverBothDialects(t *testing.T) {
	for _, dialect := range []string{SQLite, Postgres} {
		ms, err := For(dialect)
		if err != nil {
			t.Fatalf("For(%s): %v", dialect, err)
		}
		if len(ms) == 0 || ms[0].Version != 1 {
			t.Fatalf("For(%s): want version 1 first, got %+v", dialect, ms)
		}
		for i, m := range ms {
			if m.Version != i+1 {
				t.Errorf("%s: migration %s has version %d, want %d (no gaps)", dialect, m.Name, m.Version, i+1)
			}
			if !strings.Contains(m.SQL, "CREATE TABLE") && m.Version == 1 {
				t.Errorf("%s: %s creates no table", dialect, m.Name)
			}
		}
	}
}

func TestForDialect(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := []struct {
		name    string
		files   fstest.MapFS
		dialect string
		want    []string
		wantErr string
	}{
		{
			name:    "shared and per-dialect files, in version order",
			files:   fstest.MapFS{"0002_b.sql": sql, "0001_a.sqlite.sql": sql, "0001_a.postgres.sql": sql},
			dialect: SQLite,
			want:    []string{"0001_a.sqlite.sql", "0002_b.sql"},
		},
		{
			name:    "two files for one version",
			files:   fstest.MapFS{"0001_a.sql": sql, "0001_b.postgres.sql": sql},
			dialect: Postgres,
			wantErr: "two postgres files",
		},
		{
			name:    "unknown suffix",
			files:   fstest.MapFS{"0001_a.mysql.sql": sql},
			dialect: SQLite,
			wantErr: "unknown dialect suffix",
		},
		{name: "no version", files: fstest.MapFS{"init.sql": sql}, dialect: SQLite, wantErr: "version prefix"},
		{name: "unknown dialect", files: fstest.MapFS{}, dialect: "mysql", wantErr: "unknown dialect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := forDialect(tt.files, tt.dialect)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
