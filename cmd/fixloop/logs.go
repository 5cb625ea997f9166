package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/internal/redact"
)

func init() { rootCmd.AddCommand(newLogsCmd()) }

func newLogsCmd() *cobra.Command {
	logs := &cobra.Command{
		Use:   "logs",
		Short: "Log tools: template mining",
	}
	logs.AddCommand(newLogsMineCmd())
	return logs
}

func newLogsMineCmd() *cobra.Command {
	var assign, onePerLine bool
	cmd := &cobra.Command{
		Use:   "mine",
		Short: "Mine log templates from stdin",
		Long: `Reads raw logs (plain, JSON lines, CRI or kubectl --timestamps prefixes, multi-line stack traces)
on stdin and mines them into templates.

Without --assign it prints the templates as JSON lines, most frequent first:
  {"id":1,"pattern":"GET <*> status <*>","count":120,"first":...,"last":...,"examples":[...],"level":"info","severe":false}
With --assign it prints one line per input record: "<template-id>\t<template>", where the template is as it
stands at the end of the input. Secrets are redacted (internal/redact) before mining, so neither patterns nor examples carry one.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("logs mine reads stdin and takes no arguments (got %q)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogsMine(cmd.InOrStdin(), cmd.OutOrStdout(), assign, onePerLine)
		},
	}
	cmd.Flags().BoolVar(&assign, "assign", false, "print <template-id>\\t<template> for every input record")
	cmd.Flags().BoolVar(&onePerLine, "one-record-per-line", false, "treat every input line as one record (no multi-line joining)")
	return cmd
}

func runLogsMine(in io.Reader, out io.Writer, assign, onePerLine bool) error {
	rd := logmine.NewReader(logmine.TextOnly(in), logmine.ReaderOptions{OneRecordPerLine: onePerLine, Source: "stdin"})
	m := logmine.NewMiner(logmine.DefaultConfig())
	// Secrets are redacted before the miner sees a record, as the judge does: a template keeps the
	// constant part of a message, so a token redacted only afterwards can leave its tail in the pattern.
	red := redact.Default()
	// Two passes: column statistics from every record first, so early records group as well as late ones.
	var recs []logmine.Record
	for {
		rec, ok := rd.Next()
		if !ok {
			break
		}
		rec.Text = red.String(rec.Text)
		m.Observe(rec)
		recs = append(recs, rec)
	}
	if err := rd.Err(); err != nil {
		return usageError("%v", err)
	}
	ids := make([]int, len(recs))
	for i, rec := range recs {
		ids[i] = m.Add(rec).ID
	}
	w := bufio.NewWriterSize(out, 64<<10)
	if assign {
		for _, id := range ids {
			w.WriteString(strconv.Itoa(id))
			w.WriteByte('\t')
			w.WriteString(m.Template(id).Pattern)
			w.WriteByte('\n')
		}
		return w.Flush()
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, t := range m.Templates() {
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return w.Flush()
}
