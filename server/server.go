package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql"
)

// DefaultMaxBodyBytes bounds a request's body unless Options say
// otherwise.
const DefaultMaxBodyBytes = 1 << 20

// ErrShuttingDown ends the SELECT streams of a Server that is closing:
// their clients read it as the stream's error line.
var ErrShuttingDown = errors.New("server is shutting down")

// Options configure a Server.
type Options struct {
	// MaxBodyBytes bounds a request's body (default
	// DefaultMaxBodyBytes); a larger one gets 413.
	MaxBodyBytes int64
	// Logger receives the failures that are the server's own (a 500);
	// default discards them.
	Logger *slog.Logger
}

// EnsureDefaults fills the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first setting that is out of range.
func (o *Options) Validate() error {
	if o.MaxBodyBytes < 1 {
		return fmt.Errorf("server: max body bytes %d < 1", o.MaxBodyBytes)
	}
	return nil
}

// Server serves the HTTP API over an Engine and its broker. Its handler
// is safe for concurrent use.
type Server struct {
	e    *runtime.Engine
	b    *broker.Broker
	opts Options
	reg  *prometheus.Registry
	mux  *http.ServeMux
	// ctx ends with Close; the streams of SELECTs watch it.
	ctx   context.Context
	close context.CancelCauseFunc
}

// New returns a Server over e and b (nil b: no topics to list). Options
// out of range panic: they are the caller's constants.
func New(e *runtime.Engine, b *broker.Broker, opts Options) *Server {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	s := &Server{e: e, b: b, opts: opts, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.ctx, s.close = context.WithCancelCause(context.Background())
	s.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newJobCollector(e),
	)
	s.routes()
	return s
}

// Handler returns the handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

// Close ends the SELECT streams being served, each with an error line
// saying the server is shutting down; other requests run to their end.
// Pass it to http.Server.RegisterOnShutdown, so that Shutdown does not
// wait for streams that never end.
func (s *Server) Close() { s.close(ErrShuttingDown) }

func (s *Server) routes() {
	s.route("/v1/statements", map[string]http.HandlerFunc{http.MethodPost: s.statements})
	s.route("/v1/jobs", map[string]http.HandlerFunc{http.MethodGet: s.listJobs})
	s.route("/v1/jobs/{id}", map[string]http.HandlerFunc{
		http.MethodGet:    s.getJob,
		http.MethodDelete: s.stopJob,
	})
	s.route("/v1/jobs/{id}/savepoint", map[string]http.HandlerFunc{http.MethodPost: s.savepoint})
	s.route("/v1/topics", map[string]http.HandlerFunc{http.MethodGet: s.topics})
	s.route("/v1/health", map[string]http.HandlerFunc{http.MethodGet: s.health})
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelError),
	})
	s.route("/metrics", map[string]http.HandlerFunc{http.MethodGet: metrics.ServeHTTP})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, Error{Message: fmt.Sprintf("no endpoint %s: see GET /v1/health, /v1/jobs, /v1/topics, POST /v1/statements", r.URL.Path)})
	})
}

// route registers the handler of each method of path, and answers the
// other methods 405 with an Allow header, in JSON as every error is.
func (s *Server) route(path string, byMethod map[string]http.HandlerFunc) {
	var allow []string
	for m, h := range byMethod {
		s.mux.HandleFunc(m+" "+path, h)
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, Error{Message: fmt.Sprintf("method %s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))})
	})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, HealthResponse{Status: "ok"})
}

// writeJSON writes v as the response body with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := marshal(nil, v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":{"message":"encode response"}}`+"\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// marshal appends v's JSON and a newline to b. SQL is full of < and >,
// so they are not escaped as they would be for HTML.
func marshal(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func writeError(w http.ResponseWriter, code int, e Error) {
	writeJSON(w, code, ErrorResponse{Error: e})
}

// errorOf describes err for a client: an error in the SQL with its
// position.
func errorOf(err error) Error {
	var se *sql.Error
	if errors.As(err, &se) {
		msg := se.Msg
		if se.Hint != "" {
			msg += " (" + se.Hint + ")"
		}
		pos := se.Offset
		return Error{Message: msg, Line: se.Line, Column: se.Column, Position: &pos}
	}
	return Error{Message: err.Error()}
}

// fail answers a request that err ended: its status by what err is.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, runtime.ErrUnknownJob):
		code = http.StatusNotFound
	case errors.Is(err, runtime.ErrNoSavepoint):
		code = http.StatusConflict
	case r.Context().Err() != nil:
		// The client went away, or the server is closing: nobody reads
		// the answer, but the log should not call it a failure.
		code = http.StatusServiceUnavailable
	}
	if code == http.StatusInternalServerError {
		s.opts.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, errorOf(err))
}
