package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// doctorCheck is one line of the doctor report.
type doctorCheck struct {
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Fix      string   `json:"fix,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Info are figures shown under the check (the datasets' versions,
	// parts, metadata and last maintenance).
	Info []string `json:"info,omitempty"`
}

func newDoctorCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the data dir, storage and every module, with the fix for each failure",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			checks := runDoctor(ctx, l.Config)
			failed := slices.ContainsFunc(checks, func(c doctorCheck) bool { return !c.OK })
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"ok": !failed, "checks": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					if c.OK && len(c.Warnings) > 0 {
						mark = "warn"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", mark, c.Name)
					if !c.OK {
						fmt.Fprintf(cmd.OutOrStdout(), "     error: %s\n     fix:   %s\n", c.Error, c.Fix)
					}
					for _, w := range c.Warnings {
						fmt.Fprintf(cmd.OutOrStdout(), "     warning: %s\n", w)
					}
					for _, i := range c.Info {
						fmt.Fprintf(cmd.OutOrStdout(), "     %s\n", i)
					}
				}
			}
			if failed {
				return &ExitError{Code: 1, Err: fmt.Errorf("doctor found problems")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func runDoctor(ctx context.Context, cfg *config.Config) []doctorCheck {
	var out []doctorCheck
	dd := doctorCheck{Name: "data dir " + cfg.DataDir + " writable", OK: true}
	if err := checkWritable(cfg.DataDir); err != nil {
		dd.OK, dd.Error = false, err.Error()
		dd.Fix = fmt.Sprintf("create it and give this user write access: mkdir -p %s && chown $USER %s (or set data_dir / --data-dir)", cfg.DataDir, cfg.DataDir)
	}
	out = append(out, dd)
	if !dd.OK {
		return out
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	exposed, _ := ParseModules(cfg.Modules)
	c, err := Boot(ctx, cfg, quiet, exposed)
	if err != nil {
		return append(out, doctorCheck{Name: "modules start", Error: err.Error(),
			Fix: "read the error: it names the module and the setting; for S3 check [storage.s3] endpoint, credentials and bucket (create_bucket = true creates it); if another lakehouse holds the data dir, stop it or point --data-dir elsewhere"})
	}
	defer c.Stop(context.Background())
	out = append(out, doctorCheck{Name: "modules start", OK: true})
	results := c.Check(ctx)
	warnings := c.Warnings(ctx)
	for _, m := range c.Running() {
		chk := doctorCheck{Name: "module " + m.Name(), OK: results[m.Name()] == nil, Warnings: warnings[m.Name()]}
		if err := results[m.Name()]; err != nil {
			chk.Error = err.Error()
			chk.Fix = "see the error; `lakehouse config print` shows the settings in effect"
		}
		out = append(out, chk)
	}
	if chk, ok := datasetsCheck(ctx, c); ok {
		out = append(out, chk)
	}
	return out
}

// datasetsCheck lists every dataset's versions, parts, metadata and last
// maintenance, warning where maintenance is not keeping up.
func datasetsCheck(ctx context.Context, c *kit.Container) (doctorCheck, bool) {
	cat, ok := kit.Lookup[catalog.Catalog](c)
	if !ok {
		return doctorCheck{}, false
	}
	st, ok := cat.(interface {
		MaintenanceStatus(context.Context) ([]catalog.DatasetMaintenance, error)
	})
	if !ok {
		return doctorCheck{}, false
	}
	chk := doctorCheck{Name: "datasets (versions, parts, metadata, last maintenance)", OK: true}
	ds, err := st.MaintenanceStatus(ctx)
	if err != nil {
		chk.OK, chk.Error, chk.Fix = false, err.Error(), "see the error; `lakehouse catalog maintenance --dry-run` shows what maintenance would do"
		return chk, true
	}
	for _, d := range ds {
		last := "never (since this start)"
		if !d.LastMaintenance.IsZero() {
			last = d.LastMaintenance.Format(time.RFC3339)
		}
		chk.Info = append(chk.Info, fmt.Sprintf("%s: %d versions (latest %d), %d parts (%d small), %d rows, Iceberg metadata %d files / %d bytes / %d snapshots, %d files pending delete, last maintenance %s",
			d.Name, d.Versions, d.Latest, d.Parts, d.SmallParts, d.Rows, d.MetadataFiles, d.MetadataBytes, d.Snapshots, d.PendingDeletes, last))
		if d.MetadataBytes > 256<<20 {
			chk.Warnings = append(chk.Warnings, fmt.Sprintf("%s: Iceberg metadata is %d MB; run `lakehouse catalog maintenance --dataset %s`", d.Name, d.MetadataBytes>>20, d.Name))
		}
	}
	return chk, true
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(filepath.Clean(name))
}
