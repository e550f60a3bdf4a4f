package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/internal/client"
	"lakehouse/modules/catalog"
)

// remoteFlags are the flags of a catalog command that can talk to a
// running server instead of opening the data dir.
type remoteFlags struct {
	server, tokenEnv string
	asJSON           bool
}

func (r *remoteFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&r.server, "server", "", "URL of a running lakehouse (e.g. http://127.0.0.1:3110); default: open the data dir (the server must be stopped)")
	fl.StringVar(&r.tokenEnv, "token-env", "AUTH_TOKEN", "environment variable holding the server's bearer token")
	fl.BoolVar(&r.asJSON, "json", false, "print the answer as JSON")
}

func (r *remoteFlags) call(ctx context.Context, method, path string, body, out any) error {
	return client.New(r.server, os.Getenv(r.tokenEnv), nil).Call(ctx, method, path, body, out)
}

// withCatalog runs fn on the offline catalog of the configured data dir.
func withCatalog(cmd *cobra.Command, g *globalFlags, what string, fn func(*catalog.Store) error) error {
	l, err := g.loadConfig(cmd.ErrOrStderr())
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	st, err := openOfflineCatalog(cmd.Context(), l.Config, what)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func newMaintenanceCmd(g *globalFlags) *cobra.Command {
	var r remoteFlags
	var dataset string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "maintenance [--dataset NAME] [--dry-run]",
		Short: "Run the catalog's maintenance now: expire versions past retention, compact small parts, delete unreferenced files past the grace period",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var rep catalog.MaintenanceReport
			if r.server != "" {
				q := url.Values{"dry_run": {strconv.FormatBool(dryRun)}}
				if dataset != "" {
					q.Set("dataset", dataset)
				}
				if err := r.call(ctx, http.MethodPost, "/v1/catalog/maintenance?"+q.Encode(), nil, &rep); err != nil {
					return err
				}
			} else if err := withCatalog(cmd, g, "stop the server or pass --server", func(st *catalog.Store) error {
				l, err := g.loadConfig(io.Discard)
				if err != nil {
					return err
				}
				rep, err = st.Maintain(ctx, dataset, dryRun, catalog.MaintenanceConfig(l.Config))
				return err
			}); err != nil {
				return err
			}
			if r.asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			verb := "did"
			if rep.DryRun {
				verb = "would do"
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "maintenance %s:\n", verb)
			for _, d := range rep.Datasets {
				fmt.Fprintf(w, "  %-24s expired %d versions, compacted %d parts into %d, removed %d files (%d bytes) and %d metadata files (%d bytes)",
					d.Name, len(d.Expired), d.CompactedParts, d.NewParts, d.RemovedFiles, d.RemovedBytes, d.RemovedMetadata, d.MetadataBytes)
				if d.Error != "" {
					fmt.Fprintf(w, "; error: %s", d.Error)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataset, "dataset", "", "only this dataset")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only report what would be done")
	r.add(cmd)
	return cmd
}

func newRetentionCmd(g *globalFlags) *cobra.Command {
	var r remoteFlags
	var keep int
	var age time.Duration
	var reset bool
	cmd := &cobra.Command{
		Use:   "retention NAME [--keep-versions N] [--keep-age D] [--reset]",
		Short: "Show a dataset's retention, or give it its own (applied at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			set := cmd.Flags().Changed("keep-versions") || cmd.Flags().Changed("keep-age")
			if set && reset {
				return &ExitError{Code: 2, Err: errors.New("--reset takes no --keep-versions or --keep-age")}
			}
			var info catalog.RetentionInfo
			if r.server != "" {
				path := "/v1/catalog/retention/" + url.PathEscape(name)
				if set || reset {
					body := map[string]any{"reset": reset}
					if cmd.Flags().Changed("keep-versions") {
						body["keep_versions"] = keep
					}
					if cmd.Flags().Changed("keep-age") {
						body["keep_age"] = age.String()
					}
					if err := r.call(ctx, http.MethodPut, path, body, nil); err != nil {
						return err
					}
				}
				if err := r.call(ctx, http.MethodGet, path, nil, &info); err != nil {
					return err
				}
			} else if err := withCatalog(cmd, g, "stop the server or pass --server", func(st *catalog.Store) error {
				if set || reset {
					var pol *catalog.Retention
					if !reset {
						cur, err := st.RetentionOf(ctx, name)
						if err != nil {
							return err
						}
						pol = &catalog.Retention{KeepVersions: cur.KeepVersions}
						if d, err := time.ParseDuration(cur.KeepAge); err == nil {
							pol.KeepAge = d
						}
						if cmd.Flags().Changed("keep-versions") {
							pol.KeepVersions = keep
						}
						if cmd.Flags().Changed("keep-age") {
							pol.KeepAge = age
						}
					}
					if _, err := st.SetRetention(ctx, name, pol); err != nil {
						return err
					}
				}
				var err error
				info, err = st.RetentionOf(ctx, name)
				return err
			}); err != nil {
				return err
			}
			if r.asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: keep_versions %d, keep_age %s (%s); %d versions kept, latest %d; tags %v\n",
				info.Name, info.KeepVersions, info.KeepAge, info.Source, len(info.Versions), info.Latest, info.Tags)
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep-versions", 0, "keep the newest N versions (0 = no count limit)")
	cmd.Flags().DurationVar(&age, "keep-age", 0, "expire versions older than this (0 = no age limit)")
	cmd.Flags().BoolVar(&reset, "reset", false, "go back to the default retention")
	r.add(cmd)
	return cmd
}

func newTagCmd(g *globalFlags) *cobra.Command {
	var r remoteFlags
	var version int
	var del bool
	cmd := &cobra.Command{
		Use:   "tag NAME TAG (--version N | --delete)",
		Short: "Pin a version of a dataset under a tag (retention keeps it), or remove the tag",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name, tag := cmd.Context(), args[0], args[1]
			if del == (version > 0) {
				return &ExitError{Code: 2, Err: errors.New("give exactly one of --version N and --delete")}
			}
			if r.server != "" {
				path := "/v1/catalog/tags/" + url.PathEscape(name) + "/" + url.PathEscape(tag)
				var err error
				if del {
					err = r.call(ctx, http.MethodDelete, path, nil, nil)
				} else {
					err = r.call(ctx, http.MethodPut, path, map[string]int{"version": version}, nil)
				}
				if err != nil {
					return err
				}
			} else if err := withCatalog(cmd, g, "stop the server or pass --server", func(st *catalog.Store) error {
				if del {
					return st.Untag(ctx, name, tag)
				}
				return st.Tag(ctx, name, tag, version)
			}); err != nil {
				return err
			}
			if del {
				fmt.Fprintf(cmd.OutOrStdout(), "removed tag %s of %s\n", tag, name)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "tagged %s version %d as %s (kept until the tag is removed)\n", name, version, tag)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "the version to pin")
	cmd.Flags().BoolVar(&del, "delete", false, "remove the tag")
	r.add(cmd)
	return cmd
}
