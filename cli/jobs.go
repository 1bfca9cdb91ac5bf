package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/server"
	"github.com/sluice-sql/sluice/sql/types"
)

func (a *app) jobsCommand() *cobra.Command {
	var serverFlag string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List, describe and stop the jobs of a server",
		Long: `List, describe and stop the jobs running on a sluice server.

The server is --server, else $` + ServerEnv + `, else the server running on the
data directory (--data), else ` + DefaultServerURL + `.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		SuggestionsMinimumDistance: 2,
	}
	addServerFlag(cmd, &serverFlag, true)
	cmd.AddCommand(
		a.jobsListCommand(&serverFlag),
		a.jobsDescribeCommand(&serverFlag),
		a.jobsStopCommand(&serverFlag),
	)
	return cmd
}

func (a *app) jobsListCommand(serverFlag *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the jobs of a server",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := newRenderer(format)
			if err != nil {
				return err
			}
			c, err := a.client(*serverFlag)
			if err != nil {
				return err
			}
			jobs, err := c.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			cols := types.Schema{
				{Name: "id", Type: types.String()},
				{Name: "status", Type: types.String()},
				{Name: "started", Type: types.Timestamp(0)},
				{Name: "restarts", Type: types.BigInt()},
				{Name: "rows_read", Type: types.BigInt()},
				{Name: "rows_written", Type: types.BigInt()},
				{Name: "statement", Type: types.String()},
			}
			rows := make([][]any, len(jobs))
			for i, j := range jobs {
				var read, written int64
				if n := len(j.Stages); n > 0 {
					read, written = j.Stages[0].RowsOut, j.Stages[n-1].RowsIn
				}
				rows[i] = []any{j.ID, j.Status, j.Started.UnixMicro(), int64(j.Restarts), read, written, j.Statement}
			}
			return renderRows(r, a.env.Stdout, cols, rows)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "how the list prints: table, json or csv")
	return cmd
}

func (a *app) jobsDescribeCommand(serverFlag *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "describe ID",
		Short: "Describe a job: its status, stages, sources and last checkpoint",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format %q: want table or json", format)
			}
			c, err := a.client(*serverFlag)
			if err != nil {
				return err
			}
			j, err := c.Job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				b, err := json.MarshalIndent(j, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.env.Stdout, "%s\n", b)
				return err
			}
			return describeJob(a.env.Stdout, j)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "how the job prints: table, or json as the server gives it")
	return cmd
}

// describeJob prints a job as tables: its fields, its stages, and the
// partitions its sources read, if any.
func describeJob(w io.Writer, j server.Job) error {
	str := types.String()
	fields := [][]any{
		{"id", j.ID},
		{"status", j.Status},
		{"statement", j.Statement},
		{"bounded", strconv.FormatBool(j.Bounded)},
		{"started", j.Started.UTC().Format("2006-01-02 15:04:05.000")},
		{"restarts", strconv.Itoa(j.Restarts)},
	}
	if j.Error != "" {
		fields = append(fields, []any{"error", j.Error})
	}
	cp := "none yet"
	if c := j.Checkpoint; c != nil {
		cp = fmt.Sprintf("%d at %s, took %s (alignment %s), wrote %d bytes, state %d bytes",
			c.ID, c.Completed.UTC().Format("2006-01-02 15:04:05.000"), c.Duration, c.Alignment, c.Bytes, c.StateBytes)
	}
	fields = append(fields,
		[]any{"last checkpoint", cp},
		[]any{"checkpoints", fmt.Sprintf("%d completed, %d failed", j.CheckpointsCompleted, j.CheckpointsFailed)},
	)
	r := tableRenderer{}
	if err := renderRows(r, w, types.Schema{{Name: "field", Type: str}, {Name: "value", Type: str}}, fields); err != nil {
		return err
	}
	stages := make([][]any, len(j.Stages))
	for i, s := range j.Stages {
		stages[i] = []any{s.Name, s.RowsIn, s.RowsOut, s.LateRows}
	}
	fmt.Fprintln(w)
	if err := renderRows(r, w, types.Schema{
		{Name: "stage", Type: str},
		{Name: "rows_in", Type: types.BigInt()},
		{Name: "rows_out", Type: types.BigInt()},
		{Name: "late_rows", Type: types.BigInt()},
	}, stages); err != nil {
		return err
	}
	if len(j.Sources) == 0 {
		return nil
	}
	sources := make([][]any, len(j.Sources))
	for i, s := range j.Sources {
		sources[i] = []any{s.Table, s.Topic, int64(s.Partition), s.Offset, s.End, max(s.End-s.Offset, 0)}
	}
	fmt.Fprintln(w)
	return renderRows(r, w, types.Schema{
		{Name: "table", Type: str},
		{Name: "topic", Type: str},
		{Name: "partition", Type: types.Int()},
		{Name: "offset", Type: types.BigInt()},
		{Name: "end", Type: types.BigInt()},
		{Name: "lag", Type: types.BigInt()},
	}, sources)
}

func (a *app) jobsStopCommand(serverFlag *string) *cobra.Command {
	var savepoint bool
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a job, optionally taking a savepoint first",
		Long: `Stop a job of a server and wait for it to end.

With --savepoint the job first writes a savepoint, a copy of its state
and source positions that a new job can start from, and its path is
printed. A job that cannot take one is left running.`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(*serverFlag)
			if err != nil {
				return err
			}
			res, err := c.StopJob(cmd.Context(), args[0], savepoint)
			var ae *server.APIError
			if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
				return fmt.Errorf("%w; job %s is still running (stop it without --savepoint)", err, args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stdout, "stopped job %s: %s\n", res.ID, res.Status)
			if res.Savepoint != "" {
				fmt.Fprintf(a.env.Stdout, "savepoint %s\n", res.Savepoint)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&savepoint, "savepoint", false, "take a savepoint before stopping, and print its path")
	return cmd
}
