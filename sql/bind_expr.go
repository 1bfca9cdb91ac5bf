package sql

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// binaryOps maps a TiDB operator to the expr function and the tokens that
// spell it in the user's text.
var binaryOps = map[opcode.Op]struct {
	fn    string
	spell []string
}{
	opcode.Plus:     {expr.FnAdd, []string{"+"}},
	opcode.Minus:    {expr.FnSub, []string{"-"}},
	opcode.Mul:      {expr.FnMul, []string{"*"}},
	opcode.Div:      {expr.FnDiv, []string{"/"}},
	opcode.Mod:      {expr.FnRem, []string{"%", "MOD"}},
	opcode.IntDiv:   {expr.FnIntDiv, []string{"DIV"}},
	opcode.EQ:       {expr.FnEq, []string{"="}},
	opcode.NE:       {expr.FnNe, []string{"<>", "!="}},
	opcode.LT:       {expr.FnLt, []string{"<"}},
	opcode.LE:       {expr.FnLe, []string{"<="}},
	opcode.GT:       {expr.FnGt, []string{">"}},
	opcode.GE:       {expr.FnGe, []string{">="}},
	opcode.LogicAnd: {expr.FnAnd, []string{"AND", "&&"}},
	opcode.LogicOr:  {expr.FnOr, []string{"OR"}},
}

// functions are the named functions the binder knows, by lower-case name,
// with their argument counts (-1: one or more).
var functions = map[string]struct {
	fn    string
	arity int
}{
	"abs":      {expr.FnAbs, 1},
	"coalesce": {expr.FnCoalesce, -1},
	"nullif":   {expr.FnNullIf, 2},
	"if":       {expr.FnIf, 3},

	"concat":      {expr.FnConcat, -1},
	"concat_ws":   {expr.FnConcatWs, -1},
	"upper":       {expr.FnUpper, 1},
	"lower":       {expr.FnLower, 1},
	"trim":        {expr.FnTrim, 1},
	"ltrim":       {expr.FnLTrim, 1},
	"rtrim":       {expr.FnRTrim, 1},
	"length":      {expr.FnCharLength, 1},
	"char_length": {expr.FnCharLength, 1},
	"substring":   {expr.FnSubstring, -1}, // 2 or 3: checked by the type rule
	"substr":      {expr.FnSubstring, -1},
	"replace":     {expr.FnReplace, 3},
	"position":    {expr.FnPosition, 2}, // POSITION(sub IN s) parses as position(sub, s)
	"locate":      {expr.FnLocate, -1},
	"lpad":        {expr.FnLPad, 3},
	"rpad":        {expr.FnRPad, 3},
	"split_part":  {expr.FnSplitPart, 3},
	"round":       {expr.FnRound, -1},
	"floor":       {expr.FnFloor, 1},
	"ceil":        {expr.FnCeil, 1},
	"ceiling":     {expr.FnCeil, 1},
	"power":       {expr.FnPower, 2},
	"pow":         {expr.FnPower, 2},
	"sqrt":        {expr.FnSqrt, 1},
	"ln":          {expr.FnLn, 1},
	"log10":       {expr.FnLog10, 1},
	"greatest":    {expr.FnGreatest, -1},
	"least":       {expr.FnLeast, -1},

	"regexp_like":  {expr.FnRegexpLike, 2},
	"json_value":   {expr.FnJSONValue, 2},
	"json_extract": {expr.FnJSONExtract, 2},
	"json_unquote": {expr.FnJSONUnquote, 1},

	"unix_timestamp": {expr.FnUnixTimestamp, 1},
	"from_unixtime":  {expr.FnFromUnixtime, 1},
	"date_format":    {expr.FnDateFormat, 2},
	"to_timestamp":   {expr.FnToTimestamp, -1}, // 1 or 2: checked by the type rule
}

// functionNames are the names offered as suggestions for an unknown
// function.
var functionNames = []string{"ABS", "CAST", "COALESCE", "IF", "MOD", "NULLIF",
	"REGEXP_LIKE", "JSON_VALUE", "JSON_EXTRACT", "JSON_UNQUOTE",
	"EXTRACT", "DATE_TRUNC", "TIMESTAMPDIFF", "TIMESTAMPADD",
	"TO_TIMESTAMP", "DATE_FORMAT", "CURRENT_TIMESTAMP", "NOW", "LOCALTIMESTAMP", "PROCTIME"}

// expr binds n, whose first token is at the cursor, and leaves the cursor
// after its last anchor.
func (b *binder) expr(n ast.ExprNode) (expr.Expr, error) {
	if b.agg != nil {
		if e, ok, err := b.groupedExpr(n); ok || err != nil {
			return e, err
		}
	}
	start := b.loc.pos()
	switch n := n.(type) {
	case *ast.ParenthesesExpr:
		b.loc.skip("(")
		e, err := b.expr(n.Expr)
		b.loc.skip(")")
		return e, err
	case *ast.ColumnNameExpr:
		return b.column(n.Name)
	case ast.ValueExpr:
		return b.literal()
	case *ast.UnaryOperationExpr:
		return b.unary(n)
	case *ast.BinaryOperationExpr:
		return b.binary(n)
	case *ast.IsNullExpr:
		x, err := b.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		fn := expr.FnIsNull
		if n.Not {
			fn = expr.FnIsNotNull
		}
		return b.call(fn, b.loc.word("IS"), x)
	case *ast.BetweenExpr:
		x, err := b.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		pos := b.loc.word("BETWEEN")
		lo, err := b.expr(n.Left)
		if err != nil {
			return nil, err
		}
		b.loc.word("AND")
		hi, err := b.expr(n.Right)
		if err != nil {
			return nil, err
		}
		return b.negate(n.Not, pos)(b.call(expr.FnBetween, pos, x, lo, hi))
	case *ast.PatternInExpr:
		return b.in(n)
	case *ast.CaseExpr:
		return b.caseExpr(n)
	case *ast.FuncCallExpr:
		return b.funcCall(n)
	case *ast.AggregateFuncExpr:
		return nil, b.errorf(b.loc.name(n.F), "aggregate function %s is not allowed here (only in the SELECT list and HAVING, and not inside another aggregate)", strings.ToUpper(n.F))
	case *ast.WindowFuncExpr:
		return nil, b.errorf(b.loc.name(n.Name), "window function %s is not supported yet", strings.ToUpper(n.Name))
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr:
		return nil, b.errorf(start, "subqueries are not supported yet")
	case *ast.PatternLikeOrIlikeExpr:
		return b.like(n)
	}
	return nil, b.errorf(start, "this expression is not supported yet")
}

// column resolves a column reference, qualified or not.
func (b *binder) column(c *ast.ColumnName) (expr.Expr, error) {
	if q := c.Table.O; q != "" {
		pos := b.loc.name(q)
		if c.Schema.O != "" || !strings.EqualFold(q, b.qual) {
			return nil, b.errorf(pos, "unknown table %q", q).WithHint(DidYouMean(q, []string{b.qual}))
		}
	}
	name := c.Name.O
	pos := b.loc.name(name)
	found := -1
	for i, f := range b.table.Schema {
		if strings.EqualFold(f.Name, name) {
			if found >= 0 {
				return nil, b.errorf(pos, "column %q is ambiguous", name)
			}
			found = i
		}
	}
	if found < 0 {
		return nil, b.errorf(pos, "unknown column %q", name).WithHint(DidYouMean(name, columnNames(b.table.Schema)))
	}
	f := b.table.Schema[found]
	return &expr.ColumnRef{Index: found, T: f.Type, Name: f.Name}, nil
}

// literal binds the literal at the cursor from its text as written, so
// that 0.908 is the exact DECIMAL(3,3) and TRUE is not MySQL's 1.
func (b *binder) literal() (expr.Expr, error) {
	t := b.loc.peek(0)
	b.loc.i++
	switch {
	case t.kind == tokString:
		return &expr.Const{Value: t.stringValue(), T: types.String().WithNotNull(true)}, nil
	case t.is("NULL"):
		return &expr.Const{T: types.NullType()}, nil
	case t.is("TRUE"), t.is("FALSE"):
		return &expr.Const{Value: t.is("TRUE"), T: types.Boolean().WithNotNull(true)}, nil
	case t.kind == tokNumber:
		return b.number(t)
	}
	return nil, b.errorf(t.pos, "this literal is not supported yet")
}

// number types a numeric literal as Flink does: an integer is INT when it
// fits, else BIGINT; a number with a point is an exact DECIMAL(p,s) of its
// digits; one with an exponent is a DOUBLE.
func (b *binder) number(t token) (expr.Expr, error) {
	s := t.text
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, b.errorf(t.pos, "bad number %s", s)
		}
		return &expr.Const{Value: f, T: types.Double().WithNotNull(true)}, nil
	}
	if intPart, frac, ok := strings.Cut(s, "."); ok {
		intDigits := len(strings.TrimLeft(intPart, "0"))
		p, sc := max(intDigits+len(frac), 1), len(frac)
		if p > types.MaxDecimalPrecision {
			return nil, b.errorf(t.pos, "decimal literal %s has more than %d digits", s, types.MaxDecimalPrecision)
		}
		d, _, err := apd.NewFromString(s)
		if err != nil {
			return nil, b.errorf(t.pos, "bad number %s", s)
		}
		return &expr.Const{Value: *d, T: types.Decimal(p, sc).WithNotNull(true)}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, b.errorf(t.pos, "integer literal %s is out of range for BIGINT", s)
	}
	typ := types.BigInt()
	if v >= -1<<31 && v < 1<<31 {
		typ = types.Int()
	}
	return &expr.Const{Value: v, T: typ.WithNotNull(true)}, nil
}

func (b *binder) unary(n *ast.UnaryOperationExpr) (expr.Expr, error) {
	var pos int
	var fn string
	switch n.Op {
	case opcode.Minus:
		pos, fn = b.loc.word("-"), expr.FnNeg
	case opcode.Plus:
		b.loc.word("+")
		return b.expr(n.V)
	case opcode.Not, opcode.Not2:
		pos, fn = b.loc.word("NOT", "!"), expr.FnNot
	default:
		return nil, b.errorf(b.loc.pos(), "operator %s is not supported yet", n.Op)
	}
	x, err := b.expr(n.V)
	if err != nil {
		return nil, err
	}
	if c, ok := x.(*expr.Const); ok && fn == expr.FnNeg {
		// Fold the sign into a numeric literal: -1 is a literal to a user.
		switch v := c.Value.(type) {
		case int64:
			return &expr.Const{Value: -v, T: c.T}, nil
		case float64:
			return &expr.Const{Value: -v, T: c.T}, nil
		case apd.Decimal:
			var neg apd.Decimal
			neg.Neg(&v)
			return &expr.Const{Value: neg, T: c.T}, nil
		}
	}
	return b.call(fn, pos, x)
}

func (b *binder) binary(n *ast.BinaryOperationExpr) (expr.Expr, error) {
	if n.Op == opcode.Xor {
		if f, ok := b.dialectFilter(n.R); ok {
			return b.filtered(n.L, f)
		}
	}
	op, ok := binaryOps[n.Op]
	if !ok {
		return nil, b.errorf(b.loc.pos(), "operator %s is not supported yet", n.Op)
	}
	if n.Op == opcode.Mod && b.loc.peek(0).is("MOD") && b.loc.peek(1).isPunct("(") {
		// MOD(x, y): the operator comes first.
		pos := b.loc.word("MOD")
		b.loc.skip("(")
		x, err := b.expr(n.L)
		if err != nil {
			return nil, err
		}
		b.loc.skip(",")
		y, err := b.expr(n.R)
		if err != nil {
			return nil, err
		}
		b.loc.skip(")")
		return b.call(expr.FnMod, pos, x, y)
	}
	x, err := b.expr(n.L)
	if err != nil {
		return nil, err
	}
	pos := b.loc.word(op.spell...)
	y, err := b.expr(n.R)
	if err != nil {
		return nil, err
	}
	return b.call(op.fn, pos, x, y)
}

func (b *binder) in(n *ast.PatternInExpr) (expr.Expr, error) {
	x, err := b.expr(n.Expr)
	if err != nil {
		return nil, err
	}
	pos := b.loc.word("IN")
	if n.Sel != nil {
		return nil, b.errorf(pos, "IN (subquery) is not supported yet")
	}
	b.loc.skip("(")
	args := []expr.Expr{x}
	for i, item := range n.List {
		if i > 0 {
			b.loc.skip(",")
		}
		start := b.loc.pos()
		e, err := b.expr(item)
		if err != nil {
			return nil, err
		}
		if _, ok := e.(*expr.Const); !ok {
			return nil, b.errorf(start, "IN list items must be literals")
		}
		args = append(args, e)
	}
	b.loc.skip(")")
	return b.negate(n.Not, pos)(b.call(expr.FnIn, pos, args...))
}

// negate returns a function that wraps a bound expression in NOT when not
// is set (x NOT IN ..., x NOT BETWEEN ...).
func (b *binder) negate(not bool, pos int) func(expr.Expr, error) (expr.Expr, error) {
	return func(e expr.Expr, err error) (expr.Expr, error) {
		if err != nil || !not {
			return e, err
		}
		return b.call(expr.FnNot, pos, e)
	}
}

func (b *binder) caseExpr(n *ast.CaseExpr) (expr.Expr, error) {
	pos := b.loc.word("CASE")
	var value expr.Expr
	if n.Value != nil {
		v, err := b.expr(n.Value)
		if err != nil {
			return nil, err
		}
		value = v
	}
	var args []expr.Expr
	for _, w := range n.WhenClauses {
		wpos := b.loc.word("WHEN")
		start := b.loc.pos()
		cond, err := b.expr(w.Expr)
		if err != nil {
			return nil, err
		}
		if value != nil {
			if cond, err = b.call(expr.FnEq, wpos, value, cond); err != nil {
				return nil, err
			}
		}
		if err := b.wantBool(cond, start, "WHEN condition"); err != nil {
			return nil, err
		}
		b.loc.word("THEN")
		res, err := b.expr(w.Result)
		if err != nil {
			return nil, err
		}
		args = append(args, cond, res)
	}
	if n.ElseClause != nil {
		b.loc.word("ELSE")
		e, err := b.expr(n.ElseClause)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	b.loc.word("END")
	return b.call(expr.FnCase, pos, args...)
}

func (b *binder) wantBool(e expr.Expr, pos int, what string) error {
	if k := e.Type().Kind; k != types.KindBoolean && k != types.KindNull {
		return b.errorf(pos, "%s must be BOOLEAN, not %s", what, e.Type().Nullable())
	}
	return nil
}

func (b *binder) funcCall(n *ast.FuncCallExpr) (expr.Expr, error) {
	name := n.FnName.L
	if name == "__cx" {
		return b.cast(n)
	}
	if a, ok := b.dialectAggregate(n); ok {
		// Outside a grouped query's SELECT list and HAVING, where
		// groupedExpr takes aggregate calls.
		return nil, b.errorf(a.Pos, "aggregate function %s is not allowed here (only in the SELECT list and HAVING, and not inside another aggregate)", a.Fn)
	}
	if (name == "json_extract" || name == "json_unquote") && !b.loc.peek(0).is(name) {
		return b.arrow(n)
	}
	switch name {
	case "date_add", "date_sub", "adddate", "subdate":
		return b.dateAdd(n, name == "date_sub" || name == "subdate")
	case ast.TimestampLiteral, ast.DateLiteral:
		return b.timeLiteral(n)
	case "current_timestamp", "now", "localtimestamp", "proctime":
		// PROCTIME() is Flink's processing-time attribute: the time a row
		// is processed, which windows may use as their time.
		return b.currentTimestamp(n)
	case "trim":
		return b.trim(n)
	}
	pos := b.loc.name(n.FnName.O)
	if f, ok := timeFunctions[name]; ok {
		return b.timeCall(n, f.fn, f.arity, pos)
	}
	f, ok := functions[name]
	if !ok {
		return nil, b.errorf(pos, "unknown function %s", strings.ToUpper(n.FnName.O)).
			WithHint(DidYouMean(name, functionNames))
	}
	b.loc.skip("(")
	var args []expr.Expr
	var starts []int
	for i, a := range n.Args {
		if i > 0 {
			b.loc.skip(",")
			switch f.fn { // the standard forms SUBSTRING(s FROM i FOR n), POSITION(sub IN s)
			case expr.FnSubstring:
				b.loc.skip("FROM")
				b.loc.skip("FOR")
			case expr.FnPosition:
				b.loc.skip("IN")
			}
		}
		start := b.loc.pos()
		starts = append(starts, start)
		e, err := b.expr(a)
		if err != nil {
			return nil, err
		}
		if f.fn == expr.FnIf && i == 0 {
			if err := b.wantBool(e, start, "IF condition"); err != nil {
				return nil, err
			}
		}
		args = append(args, e)
	}
	b.loc.skip(")")
	if (f.arity >= 0 && len(args) != f.arity) || len(args) == 0 {
		want := strconv.Itoa(f.arity)
		if f.arity < 0 {
			want = "at least 1"
		}
		return nil, b.errorf(pos, "%s takes %s arguments, not %d", f.fn, want, len(args))
	}
	if ts, ok := nullArgs[f.fn]; ok {
		for i := range args {
			args[i] = typeNull(args[i], ts[min(i, len(ts)-1)])
		}
	}
	return b.checked(starts)(b.call(f.fn, pos, args...))
}

// nullArgs give the type of a NULL literal at each argument position of
// the functions whose arguments are not all of one type (the last type
// repeats). b.call would otherwise give a NULL the type of the first
// typed argument, which these functions do not take there:
// SUBSTRING(s, NULL) would pass a STRING as the position, RPAD(NULL, 3,
// 'x') an INT as the string.
var nullArgs = func() map[string][]types.Type {
	s, n, ts := types.String(), types.BigInt(), types.Timestamp(3)
	m := map[string][]types.Type{
		expr.FnSubstring:   {s, n},
		expr.FnLocate:      {s, s, n},
		expr.FnLPad:        {s, n, s},
		expr.FnRPad:        {s, n, s},
		expr.FnSplitPart:   {s, s, n},
		expr.FnDateFormat:  {ts, s},
		expr.FnToTimestamp: {s},
	}
	return m
}()

// timeLiteral binds TIMESTAMP 'yyyy-MM-dd HH:mm:ss[.ffffff]' (or with a
// 'T', or the date alone) and DATE 'yyyy-MM-dd', which TiDB hands over as
// calls of its literal functions. A TIMESTAMP literal's precision is the
// number of fraction digits written (at most 6), as in Flink.
func (b *binder) timeLiteral(n *ast.FuncCallExpr) (expr.Expr, error) {
	kind := "TIMESTAMP"
	if n.FnName.L == ast.DateLiteral {
		kind = "DATE"
	}
	pos := b.loc.word(kind)
	t := b.loc.peek(0)
	if t.kind != tokString {
		return nil, b.errorf(pos, "%s takes a string literal", kind)
	}
	b.loc.i++
	v := t.stringValue()
	if kind == "DATE" {
		days, ok := expr.ParseDate([]byte(v))
		if !ok {
			return nil, b.errorf(t.pos, "invalid DATE literal %q", v).WithHint("write DATE 'yyyy-MM-dd'")
		}
		return &expr.Const{Value: days, T: types.Date().WithNotNull(true)}, nil
	}
	us, frac, ok := expr.ParseTimestamp([]byte(v))
	if !ok {
		return nil, b.errorf(t.pos, "invalid TIMESTAMP literal %q", v).
			WithHint("write TIMESTAMP 'yyyy-MM-dd HH:mm:ss' with an optional fraction of a second")
	}
	return &expr.Const{Value: us, T: types.Timestamp(min(frac, types.MaxTimestampPrecision)).WithNotNull(true)}, nil
}

// currentTimestamp binds CURRENT_TIMESTAMP, NOW() and LOCALTIMESTAMP, the
// processing time, with or without parentheses.
func (b *binder) currentTimestamp(n *ast.FuncCallExpr) (expr.Expr, error) {
	pos := b.loc.name(n.FnName.O)
	if len(n.Args) > 0 {
		return nil, b.errorf(pos, "%s takes no arguments", strings.ToUpper(n.FnName.O))
	}
	if b.loc.peek(0).isPunct("(") {
		b.loc.skip("(")
		b.loc.skip(")")
	}
	return b.call(expr.FnCurrentTimestamp, pos)
}

// trim binds TRIM(s), TRIM([BOTH|LEADING|TRAILING] [chars] FROM s),
// which TiDB hands over as trim(s[, chars[, direction]]) (chars a
// space when the text has none), as TRIM, LTRIM or RTRIM of s and
// chars.
func (b *binder) trim(n *ast.FuncCallExpr) (expr.Expr, error) {
	pos := b.loc.name(n.FnName.O)
	b.loc.skip("(")
	fn := expr.FnTrim
	if len(n.Args) == 3 {
		if d, ok := n.Args[2].(*ast.TrimDirectionExpr); ok {
			switch d.Direction {
			case ast.TrimLeading:
				fn = expr.FnLTrim
			case ast.TrimTrailing:
				fn = expr.FnRTrim
			}
		}
		for _, w := range []string{"BOTH", "LEADING", "TRAILING"} {
			b.loc.skip(w)
		}
	}
	var chars expr.Expr
	if len(n.Args) >= 2 && !b.loc.peek(0).is("FROM") {
		c, err := b.expr(n.Args[1])
		if err != nil {
			return nil, err
		}
		chars = c
	}
	b.loc.skip("FROM")
	x, err := b.expr(n.Args[0])
	if err != nil {
		return nil, err
	}
	b.loc.skip(")")
	if chars == nil {
		return b.call(fn, pos, x)
	}
	return b.call(fn, pos, x, chars)
}

// timeFunctions take a unit first: a keyword (EXTRACT(YEAR FROM ts),
// TIMESTAMPDIFF(DAY, a, b), which TiDB hands over as a TimeUnitExpr) or a
// string (DATE_TRUNC('hour', ts)).
var timeFunctions = map[string]struct {
	fn    string
	arity int
}{
	"extract":       {expr.FnExtract, 2},
	"date_trunc":    {expr.FnDateTrunc, 2},
	"timestampdiff": {expr.FnTimestampDiff, 3},
	"timestampadd":  {expr.FnTimestampAdd, 3},
}

// timeCall binds a time function whose first argument is its unit, bound
// as a constant STRING.
func (b *binder) timeCall(n *ast.FuncCallExpr, fn string, arity int, pos int) (expr.Expr, error) {
	b.loc.skip("(")
	if len(n.Args) != arity {
		return nil, b.errorf(pos, "%s takes %d arguments, not %d", fn, arity, len(n.Args))
	}
	upos := b.loc.pos()
	var unit string
	switch u := n.Args[0].(type) {
	case *ast.TimeUnitExpr:
		unit = u.Unit.String()
		b.loc.i++
	default:
		e, err := b.expr(u)
		if err != nil {
			return nil, err
		}
		var s string
		if c, ok := e.(*expr.Const); ok {
			s, _ = c.Value.(string)
		}
		if s == "" {
			return nil, b.errorf(upos, "the unit of %s must be a string literal such as 'HOUR'", fn)
		}
		unit = s
	}
	if err := expr.CheckTimeUnit(fn, unit); err != nil {
		return nil, b.errorf(upos, "unknown unit %q for %s", unit, fn).
			WithHint("use one of MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR")
	}
	args := []expr.Expr{&expr.Const{Value: strings.ToUpper(unit), T: types.String().WithNotNull(true)}}
	for i, a := range n.Args[1:] {
		b.loc.skip(",")
		b.loc.skip("FROM")
		e, err := b.expr(a)
		if err != nil {
			return nil, err
		}
		// Type a bare NULL here: the unit would otherwise lend it STRING.
		t := types.Timestamp(0)
		if fn == expr.FnTimestampAdd && i == 0 {
			t = types.BigInt()
		}
		args = append(args, typeNull(e, t))
	}
	b.loc.skip(")")
	return b.call(fn, pos, args...)
}

// dateAdd binds `ts + INTERVAL n unit`, `ts - INTERVAL n unit`,
// `INTERVAL n unit + ts` and DATE_ADD/DATE_SUB(ts, INTERVAL n unit), all
// of which TiDB hands over as a DATE_ADD or DATE_SUB call whose last
// argument is a TimeUnitExpr, as TIMESTAMPADD(unit, ±n, ts). The quantity
// is an integer ('10' as Flink writes it, or 10 as MySQL does).
func (b *binder) dateAdd(n *ast.FuncCallExpr, sub bool) (expr.Expr, error) {
	fn := strings.ToUpper(n.FnName.O)
	if len(n.Args) != 3 {
		return nil, b.errorf(b.loc.pos(), "%s takes a timestamp and an INTERVAL", fn)
	}
	u, ok := n.Args[2].(*ast.TimeUnitExpr)
	if !ok {
		return nil, b.errorf(b.loc.pos(), "%s takes a timestamp and an INTERVAL", fn)
	}
	var pos int
	var ts, qty expr.Expr
	var err error
	tsArg := func() error {
		ts, err = b.expr(n.Args[0])
		return err
	}
	interval := func() error {
		ipos := b.loc.word("INTERVAL")
		qty, err = b.expr(n.Args[1])
		if err != nil {
			return err
		}
		upos := b.loc.pos()
		b.loc.i++
		unit := u.Unit.String()
		if err := expr.CheckTimeUnit("INTERVAL", unit); err != nil {
			return b.errorf(upos, "unknown INTERVAL unit %s", unit).
				WithHint("use one of MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR")
		}
		qty, err = b.intervalQuantity(qty, ipos, sub)
		return err
	}
	switch {
	case b.loc.peek(0).is(n.FnName.O) && b.loc.peek(1).isPunct("("): // DATE_ADD(ts, INTERVAL ...)
		pos = b.loc.name(n.FnName.O)
		b.loc.skip("(")
		if err := tsArg(); err != nil {
			return nil, err
		}
		b.loc.skip(",")
		if err := interval(); err != nil {
			return nil, err
		}
		b.loc.skip(")")
	case b.loc.peek(0).is("INTERVAL"): // INTERVAL ... + ts
		if err := interval(); err != nil {
			return nil, err
		}
		pos = b.loc.word("+")
		if err := tsArg(); err != nil {
			return nil, err
		}
	default: // ts ± INTERVAL ...
		if err := tsArg(); err != nil {
			return nil, err
		}
		pos = b.loc.word("+", "-")
		if err := interval(); err != nil {
			return nil, err
		}
	}
	unit := &expr.Const{Value: strings.ToUpper(u.Unit.String()), T: types.String().WithNotNull(true)}
	return b.call(expr.FnTimestampAdd, pos, unit, qty, typeNull(ts, types.Timestamp(0)))
}

// intervalQuantity makes the quantity of an INTERVAL a BIGINT, negated
// when sub: an integer expression, or a constant string holding one.
func (b *binder) intervalQuantity(q expr.Expr, pos int, sub bool) (expr.Expr, error) {
	t := q.Type()
	switch c, isConst := q.(*expr.Const); {
	case t.Kind == types.KindNull:
		return &expr.Const{T: types.BigInt()}, nil
	case isConst && t.Kind == types.KindString:
		s, _ := c.Value.(string)
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || (sub && n == math.MinInt64) {
			return nil, b.errorf(pos, "the quantity of an INTERVAL must be a whole number, not %q", s)
		}
		if sub {
			n = -n
		}
		return &expr.Const{Value: n, T: types.BigInt().WithNotNull(true)}, nil
	case t.Kind != types.KindInt:
		return nil, b.errorf(pos, "the quantity of an INTERVAL must be a whole number, not %s", t.Nullable())
	}
	if sub {
		return b.call(expr.FnNeg, pos, q)
	}
	return q, nil
}

// checked returns a function that checks the constant arguments of a
// bound call that its function parses once (patterns, JSON paths),
// pointing a rejection at the argument, which starts at starts[i].
func (b *binder) checked(starts []int) func(expr.Expr, error) (expr.Expr, error) {
	return func(e expr.Expr, err error) (expr.Expr, error) {
		c, ok := e.(*expr.Call)
		if err != nil || !ok {
			return e, err
		}
		var ae *expr.ArgError
		if errors.As(expr.CheckCall(c), &ae) && ae.Arg < len(starts) {
			return nil, b.errorf(starts[ae.Arg], "%v", ae.Err)
		}
		return e, nil
	}
}

// like binds x [NOT] LIKE pattern [ESCAPE 'c'].
func (b *binder) like(n *ast.PatternLikeOrIlikeExpr) (expr.Expr, error) {
	x, err := b.expr(n.Expr)
	if err != nil {
		return nil, err
	}
	pos := b.loc.word("LIKE", "ILIKE")
	if !n.IsLike {
		return nil, b.errorf(pos, "ILIKE is not supported yet")
	}
	starts := []int{0, b.loc.pos()}
	p, err := b.expr(n.Pattern)
	if err != nil {
		return nil, err
	}
	args := []expr.Expr{x, p}
	if n.EscapeExplicit {
		b.loc.word("ESCAPE")
		t := b.loc.peek(0)
		if t.kind != tokString {
			return nil, b.errorf(t.pos, "ESCAPE takes a string literal")
		}
		b.loc.i++
		starts = append(starts, t.pos)
		args = append(args, &expr.Const{Value: t.stringValue(), T: types.String().WithNotNull(true)})
	}
	return b.negate(n.Not, pos)(b.checked(starts)(b.call(expr.FnLike, pos, args...)))
}

// arrow binds column->'path' and column->>'path', which TiDB hands over
// as JSON_EXTRACT(column, 'path') and JSON_UNQUOTE(JSON_EXTRACT(...)).
func (b *binder) arrow(n *ast.FuncCallExpr) (expr.Expr, error) {
	unquote := n.FnName.L == "json_unquote"
	ext, ok := n, true
	if unquote {
		ext, ok = n.Args[0].(*ast.FuncCallExpr)
	}
	if !ok || len(ext.Args) != 2 {
		return nil, b.errorf(b.loc.pos(), "this expression is not supported yet")
	}
	doc, err := b.expr(ext.Args[0])
	if err != nil {
		return nil, err
	}
	pos := b.loc.word("-")
	b.loc.skip(">")
	if unquote {
		b.loc.skip(">")
	}
	start := b.loc.pos()
	path, err := b.expr(ext.Args[1])
	if err != nil {
		return nil, err
	}
	e, err := b.checked([]int{0, start})(b.call(expr.FnJSONExtract, pos, doc, path))
	if err != nil || !unquote {
		return e, err
	}
	return b.call(expr.FnJSONUnquote, pos, e)
}

// cast binds CAST(x AS T) and TRY_CAST(x AS T), which reach the parser as
// __cx(x, N) with T in the dialect's Casts[N]. A TRY_CAST is a call, not an
// expr.Cast, so that it keeps its kind through every rewrite that rebuilds
// a Cast from its Arg and T.
func (b *binder) cast(n *ast.FuncCallExpr) (expr.Expr, error) {
	i := -1
	if len(n.Args) == 2 {
		if v, ok := n.Args[1].(ast.ValueExpr); ok {
			if k, ok := v.GetValue().(int64); ok {
				i = int(k)
			}
		}
	}
	if b.d == nil || i < 0 || i >= len(b.d.Casts) {
		return nil, b.errorf(b.loc.pos(), "cannot find the CAST here in the dialect's record")
	}
	c := b.d.Casts[i]
	b.loc.seek(c.Pos)
	kw := "CAST"
	if c.Try {
		kw = "TRY_CAST"
	}
	b.loc.skip(kw)
	b.loc.skip("(")
	x, err := b.expr(n.Args[0])
	if err != nil {
		return nil, err
	}
	b.loc.seek(c.End)
	t, ok := declaredType(c.Type)
	if !ok {
		return nil, b.errorf(c.TypePos, "unsupported type %s", c.Type)
	}
	if x.Type().Kind == types.KindNull {
		return &expr.Const{T: t}, nil
	}
	if c.Try {
		return &expr.Call{Fn: expr.FnTryCast, Args: []expr.Expr{x}, T: t}, nil
	}
	return &expr.Cast{Arg: x, T: t.WithNotNull(x.Type().NotNull)}, nil
}
