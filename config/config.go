// Package config holds lakehouse's configuration: the types of every
// section, their defaults and validation, and the loader that layers a TOML
// file, a secrets file, LAKEHOUSE_* environment variables and flags.
//
// Each module's section lives in its own file (storage.go, query.go, ...)
// so a module's knobs are read and changed in one place. Module packages
// import config; config imports no module, which keeps the graph acyclic.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Config is the effective configuration of one lakehouse process.
type Config struct {
	// Listen is the HTTP listen address.
	Listen string `toml:"listen"`
	// DataDir holds local objects, the metadata database, logs and caches.
	DataDir string `toml:"data_dir"`
	// Modules lists the modules whose routes are mounted; empty means all.
	Modules []string `toml:"modules"`
	// SecretsFile names an optional TOML file with the same shape as this
	// one, read after it; meant for credentials kept out of the main file.
	SecretsFile string `toml:"secrets_file"`

	Log      LogConfig      `toml:"log"`
	Server   ServerConfig   `toml:"server"`
	Auth     AuthConfig     `toml:"auth"`
	Storage  StorageConfig  `toml:"storage"`
	Catalog  CatalogConfig  `toml:"catalog"`
	Ingest   IngestConfig   `toml:"ingest"`
	Query    QueryConfig    `toml:"query"`
	Vector   VectorConfig   `toml:"vector"`
	Embed    EmbedConfig    `toml:"embed"`
	Pathway  PathwayConfig  `toml:"pathway"`
	Observer ObserverConfig `toml:"observer"`
	Workflow WorkflowConfig `toml:"workflow"`
	MCP      MCPConfig      `toml:"mcp"`
}

// LogConfig controls log/slog output.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is auto (JSON unless stderr is a terminal), json or text.
	Format string `toml:"format"`
}

// Default returns the configuration for a single box: loopback listen,
// ./data, local-disk storage, the built-in embedder.
func Default() *Config {
	return &Config{
		Listen:   "127.0.0.1:3110",
		DataDir:  "./data",
		Log:      LogConfig{Level: "info", Format: "auto"},
		Server:   defaultServer(),
		Auth:     defaultAuth(),
		Storage:  defaultStorage(),
		Catalog:  defaultCatalog(),
		Ingest:   defaultIngest(),
		Query:    defaultQuery(),
		Vector:   defaultVector(),
		Embed:    defaultEmbed(),
		Pathway:  defaultPathway(),
		Observer: defaultObserver(),
		Workflow: defaultWorkflow(),
		MCP:      defaultMCP(),
	}
}

// Validate checks every section and returns all problems at once, each
// prefixed with the section it belongs to.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Listen) == "" {
		errs = append(errs, errors.New("listen: must not be empty"))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	// Module names are checked against the module registry by the
	// program that has one (app/cli); config names no module.
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not auto, json or text", c.Log.Format))
	}
	for _, s := range c.Sections() {
		if err := s.Value.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Section is one validated section of the configuration.
type Section struct {
	// Name is the section's TOML key.
	Name string
	// Value is the live section.
	Value interface{ Validate() error }
}

// Sections lists the sections of c that validate themselves, in field
// order, found by reflection so a new section cannot be left out.
func (c *Config) Sections() []Section {
	var out []Section
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		if s, ok := v.Field(i).Addr().Interface().(interface{ Validate() error }); ok {
			out = append(out, Section{Name: strings.Split(f.Tag.Get("toml"), ",")[0], Value: s})
		}
	}
	return out
}
