package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults, file, env, flags) with secrets redacted",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			out, err := l.Redacted().TOML()
			if err != nil {
				return err
			}
			src := l.File
			if src == "" {
				src = "(defaults; no config file found)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# effective configuration; file: %s\n%s", src, out)
			return nil
		},
	})
	return cmd
}
