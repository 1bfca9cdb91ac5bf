package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/server"
	"github.com/sluice-sql/sluice/sql"
)

func (a *app) submitCommand() *cobra.Command {
	var serverFlag string
	cmd := &cobra.Command{
		Use:   "submit FILE.sql",
		Short: "Run a SQL script on a server, whose jobs keep running there",
		Long: `Send the statements of a SQL script to a running sluice server, which
runs them in order. Each INSERT INTO ... SELECT (and CREATE MATERIALIZED
VIEW) starts a job on the server that goes on after submit exits, and
after the server restarts.

Standard output gets the id of every job started, one per line, for
scripts to use with sluice jobs; what each statement did goes to
standard error. The whole script is parsed first: a syntax error
anywhere runs nothing. A statement that fails stops the script (the ones
before it have run) and exits with status 1.

A SELECT has no place in a submitted script, since its rows would have
nowhere to go: run it in sluice shell --server.`,
		Example: `  sluice submit job.sql --server http://127.0.0.1:8080
  sluice --data ./d submit job.sql     # the server running on ./d`,
		Args: exactArgs("FILE.sql"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(serverFlag)
			if err != nil {
				return err
			}
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return a.submit(cmd.Context(), c, string(text))
		},
	}
	addServerFlag(cmd, &serverFlag, false)
	return cmd
}

func (a *app) submit(ctx context.Context, c *server.Client, text string) error {
	// A script that does not parse goes to the server as it is, which
	// reports the error as it would anyway.
	if stmts, err := sql.Parse(text); err == nil {
		for _, st := range stmts {
			if sql.Classify(st).Kind == sql.KindSelect {
				return sql.Errorf(text, st.Offset, "submit starts jobs on the server and a SELECT's rows would have nowhere to go: run it in sluice shell --server, or write it to a table with INSERT INTO")
			}
		}
	}
	err := c.Execute(ctx, text, func(res server.StatementResult) error {
		if res.JobID != "" {
			fmt.Fprintln(a.env.Stdout, res.JobID)
		}
		if res.Columns != nil {
			return renderRows(tableRenderer{}, a.env.Stderr, res.Columns, res.Rows)
		}
		fmt.Fprintln(a.env.Stderr, res.Message)
		return nil
	})
	return remoteError(text, 0, err)
}
