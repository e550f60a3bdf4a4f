package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// DefaultSearchPaths are tried in order when no --config is given.
var DefaultSearchPaths = []string{"./lakehouse.toml", "/etc/lakehouse/lakehouse.toml"}

// LoadOptions says where configuration comes from.
type LoadOptions struct {
	// File is an explicit config file (--config); it must exist.
	File string
	// SearchPaths replaces DefaultSearchPaths when non-nil.
	SearchPaths []string
	// Environ replaces os.Environ() when non-nil (tests).
	Environ []string
	// Override is applied last, after env: the CLI's flags.
	Override func(*Config)
}

// Loaded is a configuration plus where it came from.
type Loaded struct {
	*Config
	// File is the config file read, or "" when defaults only.
	File string
	// Warnings are non-fatal findings (e.g. a world-readable secrets file).
	Warnings []string
}

// Load builds the effective configuration: defaults, then the TOML file,
// then the secrets file, then LAKEHOUSE_* env vars, then Override. The
// auth token is resolved from its env var last, and everything validated.
func Load(opts LoadOptions) (*Loaded, error) {
	cfg := Default()
	out := &Loaded{Config: cfg}
	env := opts.Environ
	if env == nil {
		env = os.Environ()
	}
	path, err := findFile(opts)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := decodeFile(path, cfg); err != nil {
			return nil, err
		}
		out.File = path
	}
	if f := envValue(env, "LAKEHOUSE_SECRETS_FILE"); f != "" {
		cfg.SecretsFile = f
	}
	if cfg.SecretsFile != "" {
		if w, err := loadSecrets(cfg.SecretsFile, cfg); err != nil {
			return nil, err
		} else if w != "" {
			out.Warnings = append(out.Warnings, w)
		}
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	if opts.Override != nil {
		opts.Override(cfg)
	}
	cfg.Auth.ResolveToken(func(k string) string { return envValue(env, k) })
	out.Warnings = append(out.Warnings, cfg.moveObserverWorkflowKeys()...)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return out, nil
}

func findFile(opts LoadOptions) (string, error) {
	if opts.File != "" {
		if _, err := os.Stat(opts.File); err != nil {
			return "", fmt.Errorf("config: %w", err)
		}
		return opts.File, nil
	}
	paths := opts.SearchPaths
	if paths == nil {
		paths = DefaultSearchPaths
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config: %w", err)
		}
	}
	return "", nil
}

// decodeFile decodes path into cfg, rejecting keys the types do not know.
func decodeFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			keys := make([]string, 0, len(strict.Errors))
			for _, e := range strict.Errors {
				row, _ := e.Position()
				keys = append(keys, fmt.Sprintf("%q (line %d)", joinKey(e.Key()), row))
			}
			return fmt.Errorf("config: %s: unknown key %s", path, joinList(keys))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("config: %s:%d:%d: %s", path, row, col, de.Error())
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// loadSecrets reads the secrets file over cfg and warns when other users
// can read it.
func loadSecrets(path string, cfg *Config) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("config: secrets file: %w", err)
	}
	if err := decodeFile(path, cfg); err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Sprintf("secrets file %s is readable by group or others (mode %v); run: chmod 600 %s",
			path, st.Mode().Perm(), filepath.Clean(path)), nil
	}
	return "", nil
}

func joinKey(k []string) string {
	var b bytes.Buffer
	for i, p := range k {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func joinList(items []string) string {
	var b bytes.Buffer
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s)
	}
	return b.String()
}
