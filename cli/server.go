package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/server"
)

// DefaultHTTPAddr is where sluice server listens unless --http says
// otherwise: this machine only.
const DefaultHTTPAddr = "127.0.0.1:8080"

// Bounds of a server's shutdown: the HTTP requests in progress get
// httpShutdownTimeout to finish, then the jobs get engineShutdownTimeout
// for their final checkpoints.
const (
	httpShutdownTimeout   = 10 * time.Second
	engineShutdownTimeout = 30 * time.Second
)

func (a *app) serverCommand() *cobra.Command {
	var (
		addr        string
		parallelism int
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the engine and the log as a server, with an HTTP API",
		Long: `Run a server on the data directory: the built-in log, an engine whose
jobs keep running after the statement that started them (and resume from
their checkpoints when the server starts again), an HTTP API with JSON
bodies under /v1/, and Prometheus metrics at /metrics.

The server owns the data directory while it runs. It writes the URL it
serves to ` + serverURLFile + ` in the directory, where sluice submit, sluice jobs
and sluice shell find it; a port of 0 in --http picks a free one.

SIGTERM or Ctrl-C stops it: it stops taking requests, ends the SELECTs
it streams, lets every job take a final checkpoint (at most ` + engineShutdownTimeout.String() + `),
and exits with status 0. A second signal during that exits at once.`,
		Example: `  sluice --data ./d server
  sluice --data ./d server --http 0.0.0.0:8080`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if parallelism < 0 {
				return usagef("--parallelism must be at least 1, or 0 for the number of cores")
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usagef("--http %q: want HOST:PORT, such as %s", addr, DefaultHTTPAddr)
			}
			return a.serve(cmd.Context(), addr, parallelism)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http", DefaultHTTPAddr, "`address` (HOST:PORT) the HTTP API listens on; port 0 picks a free one")
	f.IntVar(&parallelism, "parallelism", 0, "instances of every job (0: the number of cores)")
	return cmd
}

// serve runs a server until ctx ends or a signal comes.
func (a *app) serve(ctx context.Context, addr string, parallelism int) (err error) {
	// Catch the signals before anything else, so that one arriving while
	// the server starts still shuts it down cleanly.
	sigCtx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	b, err := a.openBroker(true)
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	e, err := runtime.NewEngine(runtime.EngineOptions{
		Broker:      b,
		Stdout:      a.env.Stdout,
		Parallelism: parallelism,
		StateDir:    filepath.Join(a.dataDir, "state"),
		ResumeJobs:  true,
	})
	if err != nil {
		return err
	}
	engineOpen := true
	defer func() {
		if engineOpen {
			e.Close()
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	logger := slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(e, b, server.Options{Logger: logger})
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for requests to finish; a SELECT's stream never
	// does on its own.
	hs.RegisterOnShutdown(srv.Close)

	url := listenURL(ln.Addr())
	urlFile := filepath.Join(a.dataDir, serverURLFile)
	if err := writeFileAtomic(urlFile, url+"\n"); err != nil {
		ln.Close()
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	// Removed while the lock is still held (closeBroker runs after), so
	// that it never removes the file of a server started after this one.
	defer os.Remove(urlFile)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(a.env.Stderr, "sluice server listening on %s\n", url)
	select {
	case <-sigCtx.Done():
		stopSignals() // a second signal ends the process at once
	case err := <-served:
		return fmt.Errorf("serve %s: %w", url, err)
	}

	fmt.Fprintln(a.env.Stderr, "sluice server: shutting down")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
	if err := hs.Shutdown(hctx); err != nil {
		hs.Close()
	}
	cancel()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(a.env.Stderr, "sluice server: serve: %v\n", err)
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineShutdownTimeout)
	defer cancel()
	engineOpen = false
	if err := e.Shutdown(ectx); err != nil {
		return fmt.Errorf("shut down the engine: %w", err)
	}
	fmt.Fprintln(a.env.Stderr, "sluice server stopped")
	return nil
}

// listenURL is the URL a client uses to reach a listener: an unspecified
// address (all interfaces) is reached on this machine's loopback.
func listenURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// writeFileAtomic writes name through a temporary file renamed over it,
// so that a reader sees the old contents or the new, never a part.
func writeFileAtomic(name, text string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
