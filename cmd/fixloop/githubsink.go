package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/github/ghsink"
)

func init() { rootCmd.AddCommand(newGitHubSinkCmd()) }

func newGitHubSinkCmd() *cobra.Command {
	var listen, stateFile, token, urlFile string
	var repos []string
	var printOnly bool
	cmd := &cobra.Command{
		Use:   "github-sink",
		Short: "Run a local GitHub-compatible REST server (issues, comments, labels, pulls, branches) as the issue sink",
		Long: `github-sink serves the subset of the GitHub REST API fixloop uses, so the demo and tests run the real
GitHub client code offline. Point fixloop at it with FIXLOOP_GITHUB_BASE_URL=http://ADDR/ (trailing slash) or --github-base-url.
With --print it prints the issues and comments stored in --state and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gitRepos := map[string]string{}
			for _, r := range repos {
				name, path, ok := strings.Cut(r, "=")
				if !ok || strings.Count(name, "/") != 1 || path == "" {
					return usageError("--repo %q: want owner/name=/path/to/bare.git", r)
				}
				gitRepos[name] = path
			}
			if printOnly {
				if stateFile == "" {
					return usageError("--print needs --state FILE")
				}
				sink, err := ghsink.New(ghsink.Options{StateFile: stateFile})
				if err != nil {
					return err
				}
				printSink(cmd.OutOrStdout(), sink)
				return nil
			}
			sink, err := ghsink.New(ghsink.Options{StateFile: stateFile, GitRepos: gitRepos, Token: token})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("github-sink: listen on %s: %w", listen, err)
			}
			url := "http://" + ln.Addr().String()
			sink.SetBaseURL(url)
			if urlFile != "" {
				if err := os.WriteFile(urlFile, []byte(url+"/\n"), 0o644); err != nil {
					return fmt.Errorf("github-sink: write --url-file: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "github-sink listening on %s/ (set FIXLOOP_GITHUB_BASE_URL=%s/)\n", url, url)
			srv := &http.Server{Handler: sink, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx) // Serve returns ErrServerClosed either way
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	f.StringVar(&stateFile, "state", "", "JSON file holding the sink's issues (loaded at start, rewritten on every change)")
	f.StringArrayVar(&repos, "repo", nil, "owner/name=/path/to/bare.git: answer the branches API and git clone/fetch/push (smart HTTP at /owner/name.git) from a local bare repository (repeatable)")
	f.StringVar(&token, "token", "", "require this token on every request (default: accept any)")
	f.StringVar(&urlFile, "url-file", "", "write the API base URL to this file once listening")
	f.BoolVar(&printOnly, "print", false, "print the issues stored in --state and exit")
	return cmd
}

func printSink(w io.Writer, sink *ghsink.Server) {
	names := sink.RepoNames()
	if len(names) == 0 {
		fmt.Fprintln(w, "no issues")
		return
	}
	for _, repo := range names {
		for _, is := range sink.Issues(repo) {
			var labels []string
			for _, l := range is.Labels {
				labels = append(labels, l.Name)
			}
			fmt.Fprintf(w, "=== %s#%d [%s] %s\nlabels: %s\n\n%s\n", repo, is.Number, is.State, is.Title, strings.Join(labels, ", "), is.Body)
			for i, c := range sink.Comments(repo, is.Number) {
				fmt.Fprintf(w, "--- comment %d (%s)\n%s\n", i+1, c.CreatedAt.Format(time.RFC3339), c.Body)
			}
			fmt.Fprintln(w)
		}
		for _, p := range sink.Pulls(repo) {
			fmt.Fprintf(w, "=== %s PR #%d [%s] %s (%s → %s)\n%s\n\n", repo, p.Number, p.State, p.Title, p.Head.Ref, p.Base.Ref, p.Body)
		}
	}
}
