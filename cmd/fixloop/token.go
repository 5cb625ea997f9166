package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/auth"
)

func init() { rootCmd.AddCommand(newTokenCmd()) }

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make static tokens for fixloop serve's auth file (only their SHA-256 is stored)",
	}
	var name string
	var scopes []string
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Print a new random token and the auth file entry (hash and scopes) that accepts it",
		Long: "Print a new token on the first line and, after it, the auth file entry to add (--auth-file / FIXLOOP_AUTH_FILE). " +
			"The token is shown once: give it to the caller (e.g. a Kubernetes Secret); the auth file keeps only its SHA-256.\n\n" +
			"Scopes: read (get_*, compare_canary, investigate, verdicts), write (promote, abort), issue (open_issue, issue filing), " +
			"fix (the fixer agent), admin (everything, and every caller's A2A tasks).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := auth.ParseScopes(scopes)
			if err != nil {
				return usageError("--scopes: %v", err)
			}
			if len(sc) == 0 {
				return usageError("--scopes: name at least one of %s", strings.Join(auth.AllScopes, ", "))
			}
			entry := fmt.Sprintf("tokens:\n- name: %s\n  sha256: %s\n  scopes: [%s]\n", name, "%s", strings.Join(sc, ", "))
			if _, err := auth.ParseFile([]byte(fmt.Sprintf(entry, auth.HashToken("x")))); err != nil {
				return usageError("--name: %v", err)
			}
			tok, err := auth.NewToken()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			fmt.Fprintf(cmd.OutOrStdout(), "# auth file entry for %s:\n"+entry, name, auth.HashToken(tok))
			return nil
		},
	}
	newCmd.Flags().StringVar(&name, "name", "", "who the token is for (shown in logs and the audit log)")
	newCmd.Flags().StringSliceVar(&scopes, "scopes", []string{auth.ScopeRead}, "comma-separated scopes")
	_ = newCmd.MarkFlagRequired("name")
	hashCmd := &cobra.Command{
		Use:   "hash",
		Short: "Print the SHA-256 of the token read from stdin (for an auth file entry)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 16<<10)).ReadString('\n')
			tok := strings.TrimSpace(line)
			if tok == "" {
				if err != nil && err != io.EOF {
					return err
				}
				return usageError("no token on stdin")
			}
			fmt.Fprintln(cmd.OutOrStdout(), auth.HashToken(tok))
			return nil
		},
	}
	cmd.AddCommand(newCmd, hashCmd)
	return cmd
}
