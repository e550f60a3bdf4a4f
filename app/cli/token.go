package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// newTokenCmd is `lakehouse token`: credentials for [[auth.principals]].
func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make credentials for named principals ([[auth.principals]])",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newTokenCreateCmd(), newTokenHashCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var name, role string
	var datasets []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Print a new random token once, and the config entry holding only its SHA-256",
		Long: "Generates a 256-bit random token for a principal and prints it once (give it to the caller;\n" +
			"lakehouse never stores it), then the [[auth.principals]] entry to paste into lakehouse.toml,\n" +
			"which holds only the token's SHA-256. Restart the server to load it.",
		Example: "  lakehouse token create --name agent --role reader --datasets 'candidates,jobs_*'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pc := config.PrincipalConfig{Name: name, Role: role, Datasets: datasets}
			tok := newToken()
			pc.TokenSHA256 = kit.TokenHash(tok)
			probe := config.AuthConfig{Principals: []config.PrincipalConfig{pc}}
			if err := probe.Validate(); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("token create: %w", err)}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "# the token for %q, shown once (send it as \"Authorization: Bearer <token>\"):\n%s\n\n", name, tok)
			fmt.Fprint(out, principalTOML(pc))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "the principal's name (audit rows, sessions)")
	fl.StringVar(&role, "role", "", "reader, analyst, writer or admin")
	fl.StringSliceVar(&datasets, "datasets", nil, "datasets granted, names or globs (default: every dataset)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTokenHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash TOKEN",
		Short: "Print the SHA-256 of an existing token, as token_sha256 and secondary_sha256 hold it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), kit.TokenHash(strings.TrimSpace(args[0])))
			return nil
		},
	}
}

// newToken is 32 random bytes, URL-safe base64 (43 characters).
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "lh_" + base64.RawURLEncoding.EncodeToString(b)
}

// principalTOML renders one [[auth.principals]] entry.
func principalTOML(pc config.PrincipalConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[[auth.principals]]\nname = %q\nrole = %q\n", pc.Name, pc.Role)
	if len(pc.Datasets) > 0 {
		q := make([]string, len(pc.Datasets))
		for i, d := range pc.Datasets {
			q[i] = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(&b, "datasets = [%s]\n", strings.Join(q, ", "))
	}
	fmt.Fprintf(&b, "token_sha256 = %q\n", pc.TokenSHA256)
	return b.String()
}
