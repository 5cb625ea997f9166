package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/report"
)

func init() { rootCmd.AddCommand(newJudgeCmd()) }

// judgeArgs are the flags of `fixloop judge`.
type judgeArgs struct {
	f                  judge.Files
	ignore, mask       []string
	extraPrompt        string
	rollout, namespace string
	opts               judge.Options
	htmlPath           string
}

const judgeLong = `Compares canary pod logs (and optionally metric samples) with stable's and prints the verdict:
  {"verdict":"promote|abort|inconclusive","promote":bool,"confidence":0-100,"analysis":..,"rootCause":..,
   "remediation":..,"evidence":[..],"fingerprint":..}
Exit status 0 whenever a verdict was produced (whatever it is), 2 on bad usage or unreadable input.

Log files are raw pod log text (plain, JSON lines, multi-line stack traces in any mix); "-" reads stdin.
Metrics files: {"metrics":[{"name":"error_rate","values":[0.01,0.02],"direction":"increase","critical":true}]}
(direction increase|decrease|either: which change is bad; a metric named "requests" or with
"kind":"requests" is read as traffic volume and used to normalise log counts).
--ignore REGEX (repeatable, case-insensitive) drops the log records whose message matches, like grep -v:
  --ignore 'legacy endpoint /v1/colors' makes "ERROR legacy endpoint /v1/colors called by ..." not count.
--mask REGEX (repeatable, case-insensitive) replaces the matched text with <masked>, so lines that differ
  only there are one event: --mask 'color=\w+' when the colour changes on purpose.
Neither touches metrics. Patterns matching most log lines ('.', '\S+') are refused. Input that is not
text (NUL bytes) is refused; the analysis has a time budget, past which the verdict is inconclusive.
--llm (--llm-provider, default $FIXLOOP_LLM_PROVIDER, else as "fixloop config" shows) lets an LLM refine the explanation; it never overrules hard
evidence. Configure with FIXLOOP_LLM_MODEL, FIXLOOP_LLM_BASE_URL, GEMINI_API_KEY/GOOGLE_API_KEY, OPENAI_API_KEY.`

func newJudgeCmd() *cobra.Command {
	a := &judgeArgs{}
	cmd := &cobra.Command{
		Use:   "judge --stable FILE --canary FILE [--stable-metrics FILE --canary-metrics FILE] [--ignore REGEX]... [--mask REGEX]... [--extra-prompt TEXT] [--llm none|gemini|openai]",
		Short: "Judge a canary against stable from their logs (and metrics); prints the verdict JSON",
		Long:  judgeLong,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("judge takes no positional arguments (got %q); use --stable and --canary", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return a.run(cmd) },
	}
	a.addFlags(cmd.Flags())
	return cmd
}

// run judges the files named by the flags and prints the verdict.
func (a *judgeArgs) run(cmd *cobra.Command) error {
	a.f.Stdin = cmd.InOrStdin()
	in, err := judge.LoadFiles(a.f)
	if err != nil {
		var ie *judge.InputError
		if errors.As(err, &ie) {
			return usageError("%v", err)
		}
		return err
	}
	in.Ignore, in.Mask, in.ExtraPrompt, in.Rollout, in.Namespace = a.ignore, a.mask, a.extraPrompt, a.rollout, a.namespace

	cfg, err := config.Load(cmd.Flags(), nil)
	if err != nil {
		return usageError("%v", err)
	}
	if a.opts.LLM, err = llmProvider(cfg); err != nil {
		return usageError("%v", err)
	}
	v, err := judge.Judge(cmd.Context(), in, a.opts)
	if err != nil {
		return usageError("%v", err) // only invalid input (an ignore or mask pattern) fails Judge
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing verdict: %w", err)
	}
	if a.htmlPath != "" {
		if err := writeReportFile(a.htmlPath, *v, in); err != nil {
			return err
		}
	}
	if v.LLM != nil && v.LLM.Outcome == "error" {
		fmt.Fprintln(cmd.ErrOrStderr(), "fixloop judge: warning:", v.LLM.Reason)
	}
	return nil
}

// addFlags declares judge's flags; --llm is accepted for --llm-provider.
func (a *judgeArgs) addFlags(fl *pflag.FlagSet) {
	fl.StringVar(&a.f.Stable, "stable", "", "stable pods' log file (- for stdin)")
	fl.StringVar(&a.f.Canary, "canary", "", "canary pods' log file (- for stdin)")
	fl.StringVar(&a.f.StableMetrics, "stable-metrics", "", "stable metrics JSON file")
	fl.StringVar(&a.f.CanaryMetrics, "canary-metrics", "", "canary metrics JSON file")
	fl.StringArrayVar(&a.ignore, "ignore", nil, "regular expression: log records whose message matches are dropped, like grep -v (repeatable)")
	fl.StringArrayVar(&a.mask, "mask", nil, "regular expression: the matched text is replaced by <masked> so a changing value does not split events (repeatable)")
	fl.StringVar(&a.extraPrompt, "extra-prompt", "", "operator intent, passed to the LLM (e.g. \"the colour differs on purpose\")")
	fl.StringVar(&a.htmlPath, "html", "", "also write the verdict's page (charts, template diff) to this HTML file")
	fl.StringVar(&a.rollout, "rollout", "", "rollout name (part of the failure fingerprint)")
	fl.StringVar(&a.namespace, "namespace", "", "namespace (part of the failure fingerprint)")
	fl.IntVar(&a.opts.MinRecords, "min-records", 20, "log records needed per side when no request counts are known")
	fl.Float64Var(&a.opts.MinRequests, "min-requests", 50, "requests needed per side when request counts are known")
	fl.IntVar(&a.opts.MinSamples, "min-samples", 5, "samples needed per side for a metric to count as having data")
	config.AddFlags(fl, "llm-") // --llm is short for --llm-provider
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "llm" {
			name = "llm-provider"
		}
		return pflag.NormalizedName(name)
	})
}

// writeReportFile writes the verdict page `fixloop serve` shows at /reports/{id}, as one file.
func writeReportFile(path string, v judge.Verdict, in judge.Input) error {
	page, err := report.RenderFile(report.New(v, in), nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, page, 0o600); err != nil {
		return fmt.Errorf("writing --html %s: %w", path, err)
	}
	return nil
}
