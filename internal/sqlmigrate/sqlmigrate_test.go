package sqlmigrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ok := "-- v1 (compatible with v1+): accounts\nCREATE TABLE a (x INTEGER);\n"
	ok2 := "-- v2 (compatible with v1+): devices\nCREATE TABLE b (x INTEGER);\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []int  // versions, when it loads
		err   string // part of the error, when it does not
	}{
		{"in order", map[string]string{"m/002-devices.sql": ok2, "m/001-accounts.sql": ok}, []int{1, 2}, ""},
		{"stray file", map[string]string{"m/001-accounts.sql": ok, "m/README": ""}, nil, "name is not"},
		{"gap", map[string]string{"m/001-accounts.sql": ok, "m/003-devices.sql": strings.Replace(ok2, "v2", "v3", 1)}, nil, "expected version 2"},
		{"bad name", map[string]string{"m/1-accounts.sql": ok}, nil, "name is not"},
		{"no header", map[string]string{"m/001-accounts.sql": "CREATE TABLE a (x INTEGER);\n"}, nil, "first line"},
		{"header disagrees", map[string]string{"m/001-accounts.sql": ok2}, nil, "header says v2"},
		{"compatible with a later version", map[string]string{"m/001-accounts.sql": "-- v1 (compatible with v2+): x\n"}, nil, "compatible with v2+"},
		{"CRLF header", map[string]string{"m/001-accounts.sql": strings.ReplaceAll(ok, "\n", "\r\n")}, []int{1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			ms, err := Load(fsys, "m")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
				if m.SQL != tt.files["m/"+m.Name] {
					t.Errorf("%s: SQL is not the file", m.Name)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions %v, want %v", got, tt.want)
				}
			}
		})
	}
}
