package expr

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// Evaluator computes a compiled expression over batches.
type Evaluator interface {
	// Eval resets out to the expression's type and fills it with one value
	// per row of in (in.Len() rows). Rows outside in.Sel may hold any
	// value; errors are raised only for live rows.
	Eval(in *types.Batch, out *types.Vector) error
}

// The errors of evaluation, wrapped in an *EvalError.
var (
	ErrDivisionByZero = errors.New("division by zero")
	ErrOverflow       = errors.New("numeric value out of range")
	ErrInvalidCast    = errors.New("invalid value for cast")
)

// EvalError is an error in evaluating a function on one row. Its message
// names the function and the row's argument values.
type EvalError struct {
	Fn   string
	Args []any
	Row  int
	Err  error
}

func (e *EvalError) Error() string {
	a := make([]string, len(e.Args))
	for i, v := range e.Args {
		a[i] = formatValue(v, types.Type{})
	}
	if isInfix(e.Fn) && len(a) == 2 {
		return fmt.Sprintf("%s %s %s: %v (row %d)", a[0], e.Fn, a[1], e.Err, e.Row)
	}
	return fmt.Sprintf("%s(%s): %v (row %d)", e.Fn, strings.Join(a, ", "), e.Err, e.Row)
}

func (e *EvalError) Unwrap() error { return e.Err }

func rowError(fn string, err error, row int, args ...*types.Vector) error {
	vals := make([]any, len(args))
	for i, v := range args {
		vals[i] = v.Value(row)
	}
	return &EvalError{Fn: fn, Args: vals, Row: row, Err: err}
}

// Compile turns e into an Evaluator. It checks the types of every call
// and inserts the implicit casts to common argument types.
// CURRENT_TIMESTAMP reads time.Now; CompileWith takes another clock.
func Compile(e Expr) (Evaluator, error) {
	return CompileWith(e, Options{})
}

func compile(e Expr) (Evaluator, error) {
	switch x := e.(type) {
	case *ColumnRef:
		if x.Index < 0 {
			return nil, fmt.Errorf("column $%d out of range", x.Index)
		}
		return &colEval{idx: x.Index}, nil
	case *Const:
		s, err := newScalar(x.Value, x.T)
		if err != nil {
			return nil, err
		}
		return &constEval{s: s}, nil
	case *Cast:
		return compileCast(x.Arg, x.T, false)
	case *Call:
		return compileCall(x)
	case *clockExpr:
		return newClockEval(x), nil
	case nil:
		return nil, errors.New("nil expression")
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

// operand is an argument of a kernel: a column of the input (read in
// place), a constant (a scalar, also materialized into buf on demand), or
// a computed value in buf.
type operand struct {
	col int // -1 unless a column
	c   *scalar
	ev  Evaluator
	buf types.Vector
	t   types.Type
	// filled is the length buf was last filled with the constant for.
	filled int
}

// newOperands makes the operands of a kernel of two arguments.
func newOperands(a, b Expr) (*operand, *operand, error) {
	x, err := newOperand(a)
	if err != nil {
		return nil, nil, err
	}
	y, err := newOperand(b)
	if err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

// vecs reads both operands of a kernel of two arguments over in.
func vecs(in *types.Batch, a, b *operand) (av, bv *types.Vector, err error) {
	if av, err = a.vec(in); err != nil {
		return nil, nil, err
	}
	if bv, err = b.vec(in); err != nil {
		return nil, nil, err
	}
	return av, bv, nil
}

func newOperand(e Expr) (*operand, error) {
	o := &operand{col: -1, t: e.Type(), filled: -1}
	switch x := e.(type) {
	case *ColumnRef:
		if x.Index < 0 {
			return nil, fmt.Errorf("column $%d out of range", x.Index)
		}
		o.col = x.Index
		return o, nil
	}
	if s, ok, err := fold(e); err != nil {
		return nil, err
	} else if ok {
		o.c = s
		return o, nil
	}
	ev, err := compile(e)
	if err != nil {
		return nil, err
	}
	o.ev = ev
	return o, nil
}

func (o *operand) isConst() bool { return o.c != nil }

// vec returns the operand's values for every row of in.
func (o *operand) vec(in *types.Batch) (*types.Vector, error) {
	switch {
	case o.col >= 0:
		if o.col >= len(in.Cols) {
			return nil, fmt.Errorf("column $%d out of range: batch has %d columns", o.col, len(in.Cols))
		}
		return in.Cols[o.col], nil
	case o.c != nil:
		if o.filled != in.Len() {
			o.c.fill(&o.buf, in.Len())
			o.filled = in.Len()
		}
		return &o.buf, nil
	}
	return &o.buf, o.ev.Eval(in, &o.buf)
}

// fold evaluates e at compile time when it is constant.
func fold(e Expr) (*scalar, bool, error) {
	if c, ok := e.(*Const); ok {
		s, err := newScalar(c.Value, c.T)
		return s, err == nil, err
	}
	if varies(e) {
		return nil, false, nil
	}
	ev, err := compile(e)
	if err != nil {
		return nil, false, err
	}
	var b types.Batch
	b.SetLen(1)
	var v types.Vector
	if err := ev.Eval(&b, &v); err != nil {
		// Leave the error to run time: the row may never be live.
		return nil, false, nil
	}
	s, err := newScalar(v.Value(0), e.Type())
	return s, err == nil, err
}

// varies reports whether the value of e may change from row to row or
// batch to batch: whether it reads a column or calls a volatile function
// (the clock). Only an expression that does not vary is folded.
func varies(e Expr) bool {
	switch x := e.(type) {
	case *ColumnRef, *clockExpr:
		return true
	case *Cast:
		return varies(x.Arg)
	case *Call:
		if Volatile(x.Fn) {
			return true
		}
		for _, a := range x.Args {
			if varies(a) {
				return true
			}
		}
	}
	return false
}

// castTo wraps e in a cast to t unless it already has t's storage.
func castTo(e Expr, t types.Type) Expr {
	if e.Type().Kind == types.KindNull {
		return &Const{T: t.Nullable()} // a NULL-typed expression is always NULL
	}
	if e.Type().Equal(t) || (e.Type().Kind == types.KindInt && t.Kind == types.KindInt && e.Type().Width <= t.Width) {
		return e
	}
	if e.Type().Kind == types.KindString && t.Kind == types.KindString {
		return e
	}
	if e.Type().Kind == types.KindTimestamp && t.Kind == types.KindTimestamp {
		return e // same storage: microseconds
	}
	return &Cast{Arg: e, T: t.WithNotNull(e.Type().NotNull)}
}

// colEval copies a column.
type colEval struct {
	idx int
}

func (c *colEval) Eval(in *types.Batch, out *types.Vector) error {
	if c.idx >= len(in.Cols) {
		return fmt.Errorf("column $%d out of range: batch has %d columns", c.idx, len(in.Cols))
	}
	copyVector(out, in.Cols[c.idx], in.Len())
	return nil
}

// constEval fills a vector with a constant.
type constEval struct {
	s *scalar
}

func (c *constEval) Eval(in *types.Batch, out *types.Vector) error {
	c.s.fill(out, in.Len())
	return nil
}

// scalar is a constant in vector storage form.
type scalar struct {
	t    types.Type
	null bool
	b    bool
	i    int64 // integers, DATE, TIMESTAMP, DECIMAL(p<=18) scaled
	f    float64
	d    apd.Decimal // DECIMAL(p>18)
	s    []byte
	iv   types.IntervalValue
}

func newScalar(v any, t types.Type) (*scalar, error) {
	s := &scalar{t: t}
	bad := func() (*scalar, error) {
		return nil, fmt.Errorf("constant %v (%T) is not a %s", v, v, t)
	}
	if v == nil {
		s.null = true
		return s, nil
	}
	switch t.Kind {
	case types.KindNull:
		return bad()
	case types.KindBoolean:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		s.b = b
	case types.KindInt, types.KindDate, types.KindTimestamp:
		switch x := v.(type) {
		case int64:
			s.i = x
		case int:
			s.i = int64(x)
		default:
			return bad()
		}
	case types.KindFloat:
		f, ok := v.(float64)
		if !ok {
			return bad()
		}
		s.f = f
	case types.KindDecimal:
		var d apd.Decimal
		switch x := v.(type) {
		case apd.Decimal:
			d.Set(&x)
		case *apd.Decimal:
			d.Set(x)
		case int64:
			d.SetInt64(x)
		default:
			return bad()
		}
		var tmp types.Vector
		tmp.Reset(t, 1)
		if !tmp.AppendDecimal(&d) {
			return nil, fmt.Errorf("constant %s: %w for %s", d.Text('f'), ErrOverflow, t)
		}
		if t.Decimal64() {
			s.i = tmp.Ints[0]
		} else {
			s.d.Set(&tmp.Decs[0])
		}
	case types.KindString, types.KindJSON, types.KindBytes:
		switch x := v.(type) {
		case string:
			s.s = []byte(x)
		case []byte:
			s.s = append([]byte(nil), x...)
		default:
			return bad()
		}
	case types.KindInterval:
		iv, ok := v.(types.IntervalValue)
		if !ok {
			return bad()
		}
		s.iv = iv
	default:
		return bad()
	}
	return s, nil
}

// fill resets out to the scalar's type and n copies of it.
func (s *scalar) fill(out *types.Vector, n int) {
	out.Reset(s.t, n)
	if s.null || s.t.Kind == types.KindNull {
		extend(out, n)
		for i := range n {
			out.Nulls.Set(i)
		}
		return
	}
	if storageOf(s.t) != stVar {
		out.SetLen(n)
	}
	switch k := s.t.Kind; {
	case k == types.KindBoolean:
		for i := range out.Bools {
			out.Bools[i] = s.b
		}
	case k == types.KindFloat:
		for i := range out.Floats {
			out.Floats[i] = s.f
		}
	case k == types.KindInterval:
		for i := range out.Intervals {
			out.Intervals[i] = s.iv
		}
	case k == types.KindDecimal && !s.t.Decimal64():
		for i := range out.Decs {
			out.Decs[i].Set(&s.d)
		}
	case k == types.KindString || k == types.KindBytes || k == types.KindJSON:
		for range n {
			out.AppendBytes(s.s)
		}
	case k == types.KindNull:
	default:
		for i := range out.Ints {
			out.Ints[i] = s.i
		}
	}
}

// extend makes v n rows long with every slot holding the zero value, for
// kernels that leave skipped rows as they are.
func extend(v *types.Vector, n int) {
	if storageOf(v.Type) == stVar {
		// Variable-width rows grow by appending: n empty values.
		for range n {
			v.AppendNull()
		}
		v.Nulls = v.Nulls[:0]
		return
	}
	v.SetLen(n)
	switch storageOf(v.Type) {
	case stBool:
		clear(v.Bools)
	case stInt:
		clear(v.Ints)
	case stFloat:
		clear(v.Floats)
	case stInterval:
		clear(v.Intervals)
	case stDec:
		clear(v.Decs)
	}
}

// isVarWidth reports whether t is stored as Offsets and Data.
func isVarWidth(t types.Type) bool {
	return t.Kind == types.KindString || t.Kind == types.KindBytes || t.Kind == types.KindJSON
}

// copyVector makes dst a copy of the first n rows of src.
func copyVector(dst, src *types.Vector, n int) {
	dst.Reset(src.Type, n)
	if isVarWidth(src.Type) {
		for i := range n {
			if src.IsNull(i) {
				dst.AppendNull()
			} else {
				dst.AppendBytes(src.Bytes(i))
			}
		}
		return
	}
	dst.SetLen(n)
	switch storageOf(src.Type) {
	case stBool:
		copy(dst.Bools, src.Bools[:n])
	case stInt:
		copy(dst.Ints, src.Ints[:n])
	case stFloat:
		copy(dst.Floats, src.Floats[:n])
	case stInterval:
		copy(dst.Intervals, src.Intervals[:n])
	case stDec:
		for i := range dst.Decs {
			dst.Decs[i].Set(&src.Decs[i])
		}
	}
	setNulls(dst, src, nil, n)
}

// setNulls sets out's null bitmap to the OR of a's and b's (b may be nil)
// over n rows, and zeroes the value slots of null rows.
func setNulls(out, a, b *types.Vector, n int) {
	out.Nulls = out.Nulls[:0]
	if a.Type.Kind == types.KindNull || (b != nil && b.Type.Kind == types.KindNull) {
		for i := range n {
			out.Nulls.Set(i)
		}
		zeroNulls(out)
		return
	}
	out.Nulls = append(out.Nulls, a.Nulls...)
	if b != nil {
		for len(out.Nulls) < len(b.Nulls) {
			out.Nulls = append(out.Nulls, 0)
		}
		for i, w := range b.Nulls {
			out.Nulls[i] |= w
		}
	}
	zeroNulls(out)
}

// zeroNulls restores the invariant that a null row's slot holds the zero
// value after a kernel computed over it.
func zeroNulls(v *types.Vector) {
	st := storageOf(v.Type)
	for w, word := range v.Nulls {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			switch st {
			case stBool:
				if i < len(v.Bools) {
					v.Bools[i] = false
				}
			case stInt:
				if i < len(v.Ints) {
					v.Ints[i] = 0
				}
			case stFloat:
				if i < len(v.Floats) {
					v.Floats[i] = 0
				}
			case stDec:
				if i < len(v.Decs) {
					v.Decs[i] = apd.Decimal{}
				}
			case stInterval:
				if i < len(v.Intervals) {
					v.Intervals[i] = types.IntervalValue{}
				}
			}
		}
	}
}

// storage is the slice of a Vector a type is stored in.
type storage uint8

const (
	stNone storage = iota
	stBool
	stInt // integers, DATE, TIMESTAMP, DECIMAL(p<=18)
	stFloat
	stDec // DECIMAL(p>18)
	stInterval
	stVar // STRING, BYTES, JSON
)

func storageOf(t types.Type) storage {
	switch t.Kind {
	case types.KindBoolean:
		return stBool
	case types.KindInt, types.KindDate, types.KindTimestamp:
		return stInt
	case types.KindDecimal:
		if t.Decimal64() {
			return stInt
		}
		return stDec
	case types.KindFloat:
		return stFloat
	case types.KindInterval:
		return stInterval
	case types.KindString, types.KindBytes, types.KindJSON:
		return stVar
	}
	return stNone
}

// liveMask returns, when in has a selection, a mask of its live rows in
// buf; nil means every row is live.
func liveMask(in *types.Batch, buf *[]bool) []bool {
	if in.Sel == nil {
		return nil
	}
	m := (*buf)[:0]
	for range in.Len() {
		m = append(m, false)
	}
	for _, i := range in.Sel {
		m[i] = true
	}
	*buf = m
	return m
}

// forEachLive calls fn for every live row of in until fn returns an error.
func forEachLive(in *types.Batch, fn func(i int) error) error {
	if in.Sel != nil {
		for _, i := range in.Sel {
			if err := fn(int(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range in.Len() {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}
