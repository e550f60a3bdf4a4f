package cli

import (
	"database/sql"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"lakehouse/migrations"
	"lakehouse/modules/catalog"
)

// lockedHint turns the DuckDB file-lock error into advice.
func lockedHint(err error, what string) error {
	if errors.Is(err, catalog.ErrLocked) {
		return &ExitError{Code: 1, Err: fmt.Errorf("%w\n  a running lakehouse server holds the metadata database; %s", err, what)}
	}
	return err
}

func newMigrateCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Inspect or apply the metadata database migrations"}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List every migration and whether it is applied (a tampered one is an error)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := g.openMetaDB(cmd, "stop it first (it applies migrations itself at start)")
			if err != nil {
				return err
			}
			defer db.Close()
			sts, err := migrations.Check(cmd.Context(), db, migrations.FS())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT\tCHECKSUM")
			pending := 0
			for _, s := range sts {
				state, at := "pending", "-"
				if s.Applied {
					state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
				} else {
					pending++
				}
				fmt.Fprintf(w, "%04d\t%s\t%s\t%s\t%s\n", s.Version, s.Name, state, at, s.Checksum[:12])
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d migrations, %d pending\n", len(sts), pending)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration (serve does this at start)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := g.openMetaDB(cmd, "it applied its migrations at start; nothing to do")
			if err != nil {
				return err
			}
			defer db.Close()
			ran, err := migrations.Up(cmd.Context(), db, migrations.FS())
			for _, m := range ran {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", m.Name)
			}
			if err != nil {
				return err
			}
			if len(ran) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "up to date")
			}
			return nil
		},
	})
	return cmd
}

// openMetaDB opens the metadata database of the configured data dir for an
// offline command; whenRunning is the advice shown when a server holds it.
func (g *globalFlags) openMetaDB(cmd *cobra.Command, whenRunning string) (*sql.DB, error) {
	l, err := g.loadConfig(cmd.ErrOrStderr())
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	db, err := catalog.OpenMetaDB(cmd.Context(), catalog.MetaDBPath(l.Config))
	if err != nil {
		return nil, lockedHint(err, whenRunning)
	}
	return db, nil
}
