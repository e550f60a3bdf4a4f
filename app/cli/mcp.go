package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/app"
	"lakehouse/app/mcpserver"
)

func init() { extraCommands = append(extraCommands, newMCPCmd) }

func newMCPCmd(g *globalFlags) *cobra.Command {
	var server string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve MCP over stdio: lakehouse's datasets, SQL, vectors and memory as tools for AI agents",
		Long: "Runs an MCP server on stdin/stdout that calls a running lakehouse's HTTP API " +
			"(--server, default http://127.0.0.1:3110) with the token from the configured token env var (AUTH_TOKEN).",
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := os.Getenv("AUTH_TOKEN")
			if l, err := g.loadConfig(cmd.ErrOrStderr()); err == nil && l.Auth.Token != "" {
				token = l.Auth.Token
			}
			return mcpserver.Run(cmd.Context(), mcpserver.Options{Server: server, Token: token, Timeout: timeout, Version: app.Version})
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:3110", "lakehouse server URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "per-tool HTTP timeout")
	return cmd
}
