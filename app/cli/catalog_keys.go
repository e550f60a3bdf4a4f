package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"lakehouse/modules/catalog"
)

// fkFlag is one --fk: "col[,col]=dataset" or "col[,col]=dataset(col[,col])".
var fkFlag = regexp.MustCompile(`^([^=()]+)=([a-z][a-z0-9_]*)(?:\(([^()]+)\))?$`)

// parseFK reads a --fk value into a foreign key.
func parseFK(s string) (catalog.ForeignKey, error) {
	m := fkFlag.FindStringSubmatch(strings.ReplaceAll(s, " ", ""))
	if m == nil {
		return catalog.ForeignKey{}, fmt.Errorf("--fk %q: want columns=dataset or columns=dataset(columns), e.g. candidate_id=candidates", s)
	}
	fk := catalog.ForeignKey{Columns: strings.Split(m[1], ","), References: m[2]}
	if m[3] != "" {
		fk.RefColumns = strings.Split(m[3], ",")
	}
	return fk, nil
}

func newKeysCmd(g *globalFlags) *cobra.Command {
	var r remoteFlags
	var key, fks []string
	var dropKey, dropFKs bool
	cmd := &cobra.Command{
		Use:   "keys NAME [--key COL,...] [--fk COLS=DATASET[(COLS)] ...] [--drop-key] [--drop-fks]",
		Short: "Show a dataset's key and foreign keys (and who references it), or declare them",
		Long: "With no flag, show them. --key declares the dataset's key; each --fk declares a foreign key\n" +
			"(all of them: the list replaces the one before); --drop-key and --drop-fks remove them.\n" +
			"Example: lakehouse catalog keys call_log --key call_id --fk candidate_id=candidates",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			var keyArg *[]string
			var fkArg *[]catalog.ForeignKey
			switch {
			case dropKey && len(key) > 0:
				return &ExitError{Code: 2, Err: errors.New("--drop-key takes no --key")}
			case dropKey:
				keyArg = &[]string{}
			case len(key) > 0:
				keyArg = &key
			}
			switch {
			case dropFKs && len(fks) > 0:
				return &ExitError{Code: 2, Err: errors.New("--drop-fks takes no --fk")}
			case dropFKs:
				fkArg = &[]catalog.ForeignKey{}
			case len(fks) > 0:
				list := make([]catalog.ForeignKey, 0, len(fks))
				for _, s := range fks {
					fk, err := parseFK(s)
					if err != nil {
						return &ExitError{Code: 2, Err: err}
					}
					list = append(list, fk)
				}
				fkArg = &list
			}
			var info catalog.KeysInfo
			if r.server != "" {
				path := "/v1/catalog/keys/" + url.PathEscape(name)
				var err error
				if keyArg != nil || fkArg != nil {
					body := map[string]any{}
					if keyArg != nil {
						body["key"] = *keyArg
					}
					if fkArg != nil {
						body["foreign_keys"] = *fkArg
					}
					err = r.call(ctx, http.MethodPut, path, body, &info)
				} else {
					err = r.call(ctx, http.MethodGet, path, nil, &info)
				}
				if err != nil {
					return err
				}
			} else if err := withCatalog(cmd, g, "stop the server or pass --server", func(st *catalog.Store) error {
				var err error
				if keyArg != nil || fkArg != nil {
					info, err = st.SetKeys(ctx, name, keyArg, fkArg)
				} else {
					info, err = st.KeysOf(ctx, name)
				}
				return err
			}); err != nil {
				return err
			}
			if r.asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			out := cmd.OutOrStdout()
			if len(info.Key) == 0 {
				fmt.Fprintf(out, "%s: no key\n", info.Name)
			} else {
				fmt.Fprintf(out, "%s: key (%s) [%s]\n", info.Name, strings.Join(info.Key, ", "), info.KeySource)
			}
			for _, fk := range info.ForeignKeys {
				fmt.Fprintf(out, "  (%s) → %s(%s)\n", strings.Join(fk.Columns, ", "), fk.References, strings.Join(fk.RefColumns, ", "))
			}
			for _, ref := range info.ReferencedBy {
				fmt.Fprintf(out, "  referenced by %s(%s)\n", ref.Dataset, strings.Join(ref.Columns, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&key, "key", nil, "declare the key: its column(s), comma-separated")
	cmd.Flags().StringArrayVar(&fks, "fk", nil, "a foreign key: columns=dataset, or columns=dataset(columns) when they are not its key; repeat for each")
	cmd.Flags().BoolVar(&dropKey, "drop-key", false, "drop the declared key (a key set by an upsert applies again)")
	cmd.Flags().BoolVar(&dropFKs, "drop-fks", false, "drop every foreign key")
	r.add(cmd)
	return cmd
}
