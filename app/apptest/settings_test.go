package apptest_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

// TestNoSettingRevealsAPath enumerates what SQL can see of the server
// itself — every setting by name, every table function and every scalar
// function that takes no argument — and requires that no answer holds
// the data dir's absolute path (the temp dir and the parts' directory are
// under it). Calls may be refused; what they must never do is answer with
// a path.
func TestNoSettingRevealsAPath(t *testing.T) {
	s := apptest.Start(t)
	abs, err := filepath.Abs(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	resolved, _ := filepath.EvalSymlinks(abs)
	leaks := func(body []byte) bool {
		b := string(body)
		return strings.Contains(b, abs) || (resolved != "" && strings.Contains(b, resolved)) ||
			strings.Contains(b, strings.ReplaceAll(abs, "/", `\/`))
	}
	run := func(sql string) (int, []byte) {
		resp, data := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": sql, "limit": 100000})
		if leaks(data) {
			t.Errorf("%s: the answer holds the data dir's path: %.300s", sql, data)
		}
		return resp.StatusCode, data
	}
	names := func(sql string) []string {
		code, data := run(sql)
		if code != 200 {
			t.Fatalf("%s: %d %s", sql, code, data)
		}
		var ans apptest.SQLAnswer
		if err := json.Unmarshal(data, &ans); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range ans.Rows {
			out = append(out, fmt.Sprint(r[0]))
		}
		return out
	}
	// duckdb_settings() is refused, so the settings that hold or shape
	// paths are named here; each must be refused by every way of reading
	// a setting.
	settings := []string{"temp_directory", "allowed_directories", "home_directory", "extension_directory",
		"secret_directory", "custom_extension_repository", "log_query_path", "profile_output", "file_search_path",
		"allowed_paths", "storage_compatibility_version", "default_secret_storage", "enabled_log_types", "search_path",
		"memory_limit", "threads", "enable_external_access", "lock_configuration"}
	for _, name := range settings {
		for _, q := range []string{
			"SELECT current_setting('" + name + "')",
			"SELECT * FROM duckdb_settings() WHERE name = '" + name + "'",
			"SELECT value FROM duckdb_settings WHERE name = '" + name + "'",
			"SELECT getvariable('" + name + "')",
		} {
			if code, _ := run(q); code == 200 {
				t.Errorf("%s answered 200", q)
			}
		}
	}
	tableFns := names("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table' AND len(parameters) = 0 ORDER BY 1")
	scalarFns := names("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'scalar' AND len(parameters) = 0 AND NOT starts_with(function_name, '__') ORDER BY 1")
	if len(tableFns) < 20 || len(scalarFns) < 10 {
		t.Fatalf("too few functions enumerated: %d table, %d scalar", len(tableFns), len(scalarFns))
	}
	for _, fn := range tableFns {
		run(fmt.Sprintf("SELECT * FROM %q()", fn))
	}
	for _, fn := range scalarFns {
		run(fmt.Sprintf("SELECT %q()", fn))
	}
	// Views of the system catalog, by name.
	for _, v := range names("SELECT view_name FROM duckdb_views() WHERE internal ORDER BY 1") {
		run(fmt.Sprintf("SELECT * FROM %q", v))
	}
}
