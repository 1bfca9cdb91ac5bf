package sql

import "github.com/pingcap/tidb/pkg/parser/ast"

// Statement is one parsed statement: either a TiDB AST with the dialect's
// side table, or a Command that is wholly Sluice's own.
type Statement struct {
	// Text is the statement as the user wrote it; Offset is where it starts
	// in the input.
	Text   string
	Offset int
	// Node is the TiDB AST, nil for a Command.
	Node ast.StmtNode
	// Dialect is what the dialect layer replaced; nil for a Command.
	Dialect *Dialect
	// Command is set for a statement the TiDB grammar does not have.
	Command Command

	// source is the whole input the statement was parsed from, so that
	// later stages (the binder) report errors with positions in it.
	source string
}

// Command is a statement that never reaches the TiDB parser: ShowJobs,
// StopJob, SetOption, ShowOptions or ResetOption.
type Command interface{ command() }

// ShowJobs is `SHOW JOBS`.
type ShowJobs struct{}

// StopJob is `STOP JOB 'id' [WITH SAVEPOINT]`.
type StopJob struct {
	ID        string
	IDPos     int
	Savepoint bool
}

// SetOption is `SET 'key' = 'value'`.
type SetOption struct{ Option }

// ShowOptions is `SET` alone: list the options set.
type ShowOptions struct{}

// ResetOption is `RESET 'key'`, or `RESET` alone (Key empty) for every
// option.
type ResetOption struct {
	Key    string
	KeyPos int
}

func (ShowJobs) command()    {}
func (StopJob) command()     {}
func (SetOption) command()   {}
func (ShowOptions) command() {}
func (ResetOption) command() {}

// command recognizes a Sluice command in piece p, returning nil when p is
// not one. The first words decide: once they match, any other shape is an
// error rather than something for the TiDB parser.
func command(src string, p Piece) (Command, error) {
	all, err := tokenize(src, p.Offset, p.End())
	if err != nil {
		return nil, err
	}
	toks := significant(all)
	r := &rewriter{src: src, base: p.Offset, toks: toks}
	end := func(n int) error {
		if len(toks) > n {
			return r.errorf(toks[n].pos, "unexpected %s", toks[n].text)
		}
		return nil
	}
	switch t0, t1, t2 := r.tok(0), r.tok(1), r.tok(2); {
	case t0.is("SHOW") && t1.is("JOBS"):
		return ShowJobs{}, end(2)
	case t0.is("STOP") && t1.is("JOB"):
		if t2.kind != tokString {
			return nil, r.errorf(t2.pos, "expected a quoted job id after STOP JOB")
		}
		c := StopJob{ID: t2.stringValue(), IDPos: t2.pos}
		if r.tok(3).is("WITH") && r.tok(4).is("SAVEPOINT") {
			c.Savepoint = true
			return c, end(5)
		}
		return c, end(3)
	case t0.is("SET") && len(toks) == 1:
		return ShowOptions{}, nil
	case t0.is("RESET") && len(toks) == 1:
		return ResetOption{}, nil
	case t0.is("RESET"):
		if t1.kind != tokString {
			return nil, r.errorf(t1.pos, "expected a quoted option key after RESET")
		}
		return ResetOption{Key: t1.stringValue(), KeyPos: t1.pos}, end(2)
	case t0.is("SET") && t1.kind == tokString:
		eq, v := r.tok(2), r.tok(3)
		if !eq.isPunct("=") {
			return nil, r.errorf(eq.pos, "expected = after %s", t1.text)
		}
		if v.kind != tokString {
			return nil, r.errorf(v.pos, "expected a quoted value after =")
		}
		return SetOption{Option{Key: t1.stringValue(), Value: v.stringValue(), KeyPos: t1.pos, ValuePos: v.pos}}, end(4)
	}
	return nil, nil
}
