package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/internal/client"
	"lakehouse/modules/kit"
	"lakehouse/modules/query"
	"lakehouse/modules/storage"
)

// queryOpts are the flags of `lakehouse query`.
type queryOpts struct {
	format  string
	server  string
	limit   int
	timeout time.Duration
}

func newQueryCmd(g *globalFlags) *cobra.Command {
	o := &queryOpts{}
	cmd := &cobra.Command{
		Use:   `query "SQL"`,
		Short: "Run one read-only SQL statement over the datasets",
		Long: "Runs one read-only statement (SELECT, WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE) and prints the answer:\n" +
			"an aligned table on a terminal, CSV when piped (or as --format says).\n\n" +
			"With --server the statement goes to a running lakehouse (POST /v1/sql) with the token from the\n" +
			"configured token env var (AUTH_TOKEN); without it the data dir is opened in-process, which needs\n" +
			"the server stopped (the metadata database is single-writer).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			out := cmd.OutOrStdout()
			if o.format == "" {
				o.format = "csv"
				if isTerminal(out) {
					o.format = "table"
				}
			}
			switch o.format {
			case "table", "csv", "json":
			default:
				return &ExitError{Code: 2, Err: fmt.Errorf("--format %q: use table, csv or json", o.format)}
			}
			ctx := cmd.Context()
			var res *query.Result
			if o.server != "" {
				res, err = remoteQuery(ctx, l.Config, o, args[0])
			} else {
				res, err = localQuery(ctx, l.Config, o, args[0])
			}
			if err != nil {
				return err
			}
			if err := printResult(out, res, o.format); err != nil {
				return err
			}
			if res.Truncated {
				fmt.Fprintf(cmd.ErrOrStderr(), "(truncated at %d rows; use --limit or a LIMIT clause)\n", res.RowCount)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "", "table, csv or json (default: table on a terminal, csv otherwise)")
	f.StringVar(&o.server, "server", "", "URL of a running lakehouse (e.g. http://127.0.0.1:3110); default: open the data dir in-process")
	f.IntVar(&o.limit, "limit", 0, "row cap (default: [query] max_rows)")
	f.DurationVar(&o.timeout, "timeout", 0, "query timeout (default: [query] timeout)")
	return cmd
}

// localQuery opens storage, the catalog and a query engine in-process.
func localQuery(ctx context.Context, cfg *config.Config, o *queryOpts, sqlText string) (*query.Result, error) {
	if o.timeout > 0 {
		cfg.Query.Timeout = config.Duration(o.timeout)
		cfg.Query.MaxTimeout = max(cfg.Query.MaxTimeout, cfg.Query.Timeout)
	}
	if o.limit > cfg.Query.MaxRows {
		cfg.Query.MaxRows = o.limit
	}
	cat, err := openOfflineCatalog(ctx, cfg, "use --server to query through the running server")
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	objs, err := storage.Open(ctx, cfg.Storage, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	svc, err := query.Open(ctx, query.Config{
		Query: cfg.Query, DataDir: cfg.DataDir, Store: objs, Catalog: cat,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	res, err := svc.Query(ctx, sqlText, nil, o.limit)
	if err != nil {
		ae := kit.AsAPIError(err)
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("%s: %s", ae.Code, ae.Message)}
	}
	return res, nil
}

// remoteQuery sends the statement to a running server.
func remoteQuery(ctx context.Context, cfg *config.Config, o *queryOpts, sqlText string) (*query.Result, error) {
	body := map[string]any{"sql": sqlText, "format": "json"}
	if o.limit > 0 {
		body["limit"] = o.limit
	}
	if o.timeout > 0 {
		body["timeout_ms"] = o.timeout.Milliseconds()
	}
	tokenEnv := tokenEnvOf(cfg)
	var res query.Result // numbers stay json.Number: BIGINT/HUGEINT/DECIMAL print exactly
	if err := client.New(o.server, os.Getenv(tokenEnv), nil).Call(ctx, http.MethodPost, "/v1/sql", body, &res); err != nil {
		return nil, serverError("query", err, tokenEnv)
	}
	return &res, nil
}

// printResult writes res as an aligned table, CSV or the JSON answer.
func printResult(w io.Writer, res *query.Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "csv":
		cw := csv.NewWriter(w)
		header := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			header[i] = c.Name
		}
		_ = cw.Write(header)
		for _, row := range res.Rows {
			_ = cw.Write(cellTexts(row))
		}
		cw.Flush()
		return cw.Error()
	}
	widths := make([]int, len(res.Columns))
	cells := make([][]string, len(res.Rows))
	for i, c := range res.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
	}
	for r, row := range res.Rows {
		cells[r] = cellTexts(row)
		for i, s := range cells[r] {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	line := func(vals []string, numeric []bool) {
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v))
			if numeric != nil && numeric[i] {
				b.WriteString(pad + v)
			} else if i == len(vals)-1 {
				b.WriteString(v)
			} else {
				b.WriteString(v + pad)
			}
		}
		b.WriteString("\n")
	}
	names := make([]string, len(res.Columns))
	numeric := make([]bool, len(res.Columns))
	for i, c := range res.Columns {
		names[i] = c.Name
		numeric[i] = isNumericType(c.Type)
	}
	line(names, nil)
	for i := range widths {
		if i > 0 {
			b.WriteString("-+-")
		}
		b.WriteString(strings.Repeat("-", widths[i]))
	}
	b.WriteString("\n")
	for _, row := range cells {
		line(row, numeric)
	}
	fmt.Fprintf(&b, "(%d row%s)\n", len(res.Rows), map[bool]string{true: "", false: "s"}[len(res.Rows) == 1])
	_, err := io.WriteString(w, b.String())
	return err
}

func isNumericType(t string) bool {
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// cellTexts renders JSON-decoded or engine values as text; NULL is "".
func cellTexts(row []any) []string {
	out := make([]string, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case nil:
			out[i] = ""
		case string:
			out[i] = x
		case float64:
			out[i] = fmt.Sprint(x)
			if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
				out[i] = fmt.Sprint(int64(x))
			}
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			out[i] = string(b)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				out[i] = fmt.Sprint(x)
			} else {
				out[i] = strings.Trim(string(b), `"`)
			}
		}
	}
	return out
}
