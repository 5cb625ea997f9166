package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/config"
)

func init() { rootCmd.AddCommand(newConfigCmd()) }

func newConfigCmd() *cobra.Command {
	var list bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (YAML, secrets masked) or, with --list, every setting",
		Long: `Prints the configuration fixloop would run with, after defaults, the YAML file (--config /
FIXLOOP_CONFIG), the environment and flags, in the YAML format --config reads. Secrets (tokens, API
keys) are shown as ******** when set. --list prints every setting: its flag, environment variables,
file key and meaning.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if list {
				return config.WriteSettings(out)
			}
			cfg, err := config.Load(cmd.Flags(), nil)
			if err != nil {
				return usageError("%v", err)
			}
			b, err := cfg.YAML()
			if err != nil {
				return err
			}
			if cfg.File != "" {
				fmt.Fprintf(out, "# read from %s, the environment and flags\n", cfg.File)
			}
			_, err = out.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list every setting (flag, env, file key, help) instead")
	config.AddFlags(cmd.Flags())
	return cmd
}
