package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// openOfflineCatalog opens storage and the catalog without the server (the
// metadata database must not be held by a running server).
func openOfflineCatalog(ctx context.Context, cfg *config.Config, what string) (*catalog.Store, error) {
	objs, err := storage.Open(ctx, cfg.Storage, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := catalog.Open(ctx, catalog.MetaDBPath(cfg), objs, slog.New(slog.NewTextHandler(io.Discard, nil)), catalog.Options(cfg)...)
	if err != nil {
		return nil, lockedHint(err, what)
	}
	return st, nil
}

func newCatalogCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Maintain the dataset catalog"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the catalog tables from the manifest objects in storage alone",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			st, err := openOfflineCatalog(cmd.Context(), l.Config, "stop the server before rebuilding")
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.Rebuild(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %d datasets (%d versions, %d deleted) from storage; %d manifest objects skipped\n",
				rep.Datasets, rep.Versions, rep.Deleted, rep.Skipped)
			return nil
		},
	})
	cmd.AddCommand(newGCCmd(g), newIcebergCmd(g), newMaintenanceCmd(g), newRetentionCmd(g), newTagCmd(g), newKeysCmd(g))
	return cmd
}

func newIcebergCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "iceberg", Short: "Maintain the Iceberg tables of the datasets"}
	cmd.AddCommand(&cobra.Command{
		Use:   "sync",
		Short: "Bring every dataset's Iceberg table in step with the catalog (backfill one snapshot per existing version; idempotent)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if !l.Config.Catalog.Iceberg.Enabled {
				return &ExitError{Code: 2, Err: fmt.Errorf("[catalog.iceberg] enabled = false: nothing to sync")}
			}
			st, err := openOfflineCatalog(cmd.Context(), l.Config, "stop the server before syncing (it syncs at start too)")
			if err != nil {
				return err
			}
			defer st.Close()
			// Open already synced; a second pass proves it is idempotent.
			rep := st.StartSync()
			again, err := st.SyncIceberg(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d tables in step: %d snapshots written, %d rolled back, %d versions adopted, %d dropped, %d uncommitted manifests removed (second pass: %d snapshots)\n",
				rep.Tables, rep.Snapshots, rep.RolledBack, rep.RolledFwd, rep.Dropped, rep.Uncommitted, again.Snapshots)
			return nil
		},
	})
	return cmd
}

func newGCCmd(g *globalFlags) *cobra.Command {
	var grace time.Duration
	var keep int
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove the files of deleted datasets and unreferenced data objects older than --grace",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			st, err := openOfflineCatalog(cmd.Context(), l.Config, "stop the server before gc")
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.GC(cmd.Context(), catalog.GCOptions{Grace: grace, KeepVersions: keep, DryRun: dryRun})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, k := range rep.RemovedKeys {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, k)
			}
			for name, vs := range rep.PrunedVersions {
				fmt.Fprintf(cmd.OutOrStdout(), "pruned %s versions %v\n", name, vs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d objects (%d bytes); purged datasets: %v\n", verb, len(rep.RemovedKeys), rep.RemovedBytes, rep.PurgedDatasets)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&grace, "grace", time.Hour, "keep unreferenced objects younger than this (an ingest may still be writing them)")
	f.IntVar(&keep, "keep-versions", 0, "also prune versions older than the newest N of every dataset (0 = keep every version)")
	f.BoolVar(&dryRun, "dry-run", false, "only report what would be removed")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
