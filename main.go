// Command sluice is a streaming SQL engine with a built-in partitioned log.
// See package cli for its commands.
package main

import (
	"os"

	"github.com/sluice-sql/sluice/cli"
)

func main() { os.Exit(cli.Main(os.Args)) }
