package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/broker"
)

func (a *app) topicCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Create, inspect, write and read topics of the built-in log",
		Args:  noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		SuggestionsMinimumDistance: 2,
	}
	cmd.AddCommand(
		a.topicCreateCommand(),
		a.topicListCommand(),
		a.topicDescribeCommand(),
		a.topicDeleteCommand(),
		a.topicProduceCommand(),
		a.topicConsumeCommand(),
	)
	return cmd
}

func (a *app) topicCreateCommand() *cobra.Command {
	var (
		partitions int
		configs    []string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a topic",
		Long: `Create a topic with the given number of partitions and config overrides.

Config keys are Kafka's: ` + strings.Join(broker.ConfigKeys(), ", ") + `.
Durations in milliseconds may also be written with a unit (30s, 2h, 7d).`,
		Example: `  sluice topic create orders --partitions 3
  sluice topic create prices --config cleanup.policy=compact --config retention.ms=7d`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			name := args[0]
			overrides, err := parseConfigFlags(configs)
			if err != nil {
				return err
			}
			b, err := a.openBroker(true)
			if err != nil {
				return err
			}
			defer closeBroker(b, &err)
			if err := b.CreateTopic(name, partitions, overrides); err != nil {
				return topicError(name, err)
			}
			_, err = fmt.Fprintf(a.env.Stdout, "created topic %s with %s\n", name, plural(int64(partitions), "partition", "partitions"))
			return err
		},
	}
	cmd.Flags().IntVarP(&partitions, "partitions", "p", 1, "number of partitions")
	cmd.Flags().StringArrayVarP(&configs, "config", "c", nil, "config override as `key=value`; repeat for several")
	return cmd
}

// parseConfigFlags turns repeated key=value flags into a map. The keys
// and values are checked by the broker.
func parseConfigFlags(flags []string) (map[string]string, error) {
	m := make(map[string]string, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usagef("--config %q: want key=value, such as retention.ms=86400000", f)
		}
		if _, dup := m[k]; dup {
			return nil, usagef("--config %s is given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

func (a *app) topicListCommand() *cobra.Command {
	var internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the topics and their partition counts",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			// A new user's first command: it makes the data directory.
			b, err := a.openBroker(true)
			if err != nil {
				return err
			}
			defer closeBroker(b, &err)
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS")
			for _, t := range b.Topics() {
				if t.Internal && !internal {
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\n", t.Name, len(t.Partitions))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&internal, "internal", false, "also list the broker's internal topics (names starting with __)")
	return cmd
}

func (a *app) topicDescribeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a topic's config and partitions",
		Long: `Show a topic's config, every key with its value and whether it was set
when the topic was created (override) or is the default, and its
partitions with their first offset, end offset (the offset the next record
will get), number of segment files and bytes.`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			name := args[0]
			b, info, err := a.openTopic(name)
			if err != nil {
				return err
			}
			defer closeBroker(b, &err)
			return writeTopicInfo(a.env.Stdout, info)
		},
	}
}

func writeTopicInfo(w io.Writer, info broker.TopicInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Topic:\t%s\n", info.Name)
	fmt.Fprintf(tw, "Partitions:\t%d\n", len(info.Partitions))
	if info.Internal {
		fmt.Fprintf(tw, "Internal:\tyes\n")
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return err
	}

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONFIG\tVALUE\tSOURCE")
	values := info.Config.Map()
	for _, k := range broker.ConfigKeys() {
		source := "default"
		if _, ok := info.Overrides[k]; ok {
			source = "override"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k, values[k], source)
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return err
	}

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tSTART\tEND\tSEGMENTS\tBYTES")
	for _, p := range info.Partitions {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\n", p.Partition, p.StartOffset, p.EndOffset, p.Segments, p.Bytes)
	}
	return tw.Flush()
}

func (a *app) topicDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a topic, its data and the group offsets committed on it",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			name := args[0]
			b, err := a.openBroker(false)
			if err != nil {
				return err
			}
			defer closeBroker(b, &err)
			if err := b.DeleteTopic(name); err != nil {
				return topicError(name, err)
			}
			_, err = fmt.Fprintf(a.env.Stdout, "deleted topic %s\n", name)
			return err
		},
	}
}

// topicError rephrases the broker's errors about a topic's existence for
// a person, keeping the sentinel for errors.Is.
func topicError(name string, err error) error {
	switch {
	case errors.Is(err, broker.ErrTopicNotFound):
		return &rephrased{fmt.Sprintf("topic %q does not exist", name), err}
	case errors.Is(err, broker.ErrTopicExists):
		return &rephrased{fmt.Sprintf("topic %q already exists", name), err}
	}
	return err
}

// rephrased is an error shown with a message of its own in place of the
// one it wraps.
type rephrased struct {
	msg string
	err error
}

func (e *rephrased) Error() string { return e.msg }
func (e *rephrased) Unwrap() error { return e.err }

// plural is n followed by the singular or the plural form.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
