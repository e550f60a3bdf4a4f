// Package cli is lakehouse's command line (cobra): serve, version, doctor,
// config print and the commands later modules add. It is also where the
// concrete modules are registered with the container.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/internal/fsx"
)

// ExitError carries a specific process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ExitError) Unwrap() error { return e.Err }

// globalFlags are shared by every command that reads configuration.
type globalFlags struct {
	configFile string
	dataDir    string
	listen     string
	modules    string
}

// Main runs the CLI with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "lakehouse:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "lakehouse",
		Short:         "A versioned knowledge substrate: CSV in, SQL, vector search, trace memory, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "config file (default: ./lakehouse.toml, then /etc/lakehouse/lakehouse.toml)")
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory (overrides data_dir)")
	// Every command, listed here and nowhere else.
	root.AddCommand(
		newServeCmd(g),
		newVersionCmd(),
		newDoctorCmd(g),
		newConfigCmd(g),
		newTokenCmd(),
		newIngestCmd(g),
		newQueryCmd(g),
		newCatalogCmd(g),
		newGCCmd(g),
		newMigrateCmd(g),
		newIndexCmd(g),
		newPathwayCmd(g),
		newMCPCmd(g),
		newDemoCmd(g),
	)
	return root
}

// loadConfig loads the configuration with the command's flags applied last.
func (g *globalFlags) loadConfig(stderr io.Writer) (*config.Loaded, error) {
	l, err := config.Load(config.LoadOptions{
		File: g.configFile,
		Override: func(c *config.Config) {
			if g.dataDir != "" {
				c.DataDir = g.dataDir
			}
			if g.listen != "" {
				c.Listen = g.listen
			}
			if g.modules != "" {
				c.Modules = strings.Split(g.modules, ",")
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if _, err := ParseModules(l.Config.Modules); err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	// Every command may create files under data_dir (offline ingest, gc,
	// migrate): the configured modes hold for all of them.
	fsx.ApplyModes(l.Config.Storage.Modes())
	for _, w := range l.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return l, nil
}

// newLogger builds the process logger: JSON unless the output is a
// terminal (or the config forces a format).
func newLogger(cfg config.LogConfig, w *os.File) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Format
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal says whether w is a terminal (the one check every command
// uses: progress bars, table output, the log format).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// configToken is the one token lookup of every command that calls a
// server: auth.token, else the variable auth.token_env names (AUTH_TOKEN
// by default). Commands with --token-env read that variable instead.
func configToken(cfg *config.Config) string {
	if cfg.Auth.Token != "" {
		return cfg.Auth.Token
	}
	return os.Getenv(tokenEnvOf(cfg))
}

// tokenEnvOf is the variable a command reads the server's token from.
func tokenEnvOf(cfg *config.Config) string {
	if cfg.Auth.TokenEnv != "" {
		return cfg.Auth.TokenEnv
	}
	return "AUTH_TOKEN"
}
