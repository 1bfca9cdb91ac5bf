package sql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// windowColumns are the columns a window table function adds.
var windowColumns = []string{"window_start", "window_end", "window_time"}

// window binds the window table function tf: its input table (a table,
// view or common table expression), its time attribute and its
// intervals.
func (b *binder) window(tf TableFunction) (Rel, error) {
	name := tf.Table
	if strings.Contains(name, ".") {
		return nil, b.errorf(tf.TablePos, "qualified table names are not supported yet")
	}
	var in Rel
	if r, ok := b.lookupCTE(name); ok {
		in = r
	} else {
		t, ok := b.cat.Lookup(name)
		if !ok {
			return nil, b.errorf(tf.TablePos, "unknown table %q", name).WithHint(DidYouMean(name, b.cat.Names()))
		}
		if t.ViewQuery != "" {
			r, err := b.view(t, tf.TablePos)
			if err != nil {
				return nil, err
			}
			in = r
		} else {
			wm, err := BindWatermark(t)
			if err != nil {
				return nil, b.errorf(tf.TablePos, "%v", err)
			}
			in = &Scan{Table: t, Pos: tf.TablePos, Watermark: wm}
		}
	}
	schema := in.Schema()
	col := schema.Index(tf.TimeColumn)
	if col < 0 {
		names := make([]string, len(schema))
		for i, f := range schema {
			names[i] = f.Name
		}
		return nil, b.errorf(tf.TimeColumnPos, "unknown column %q", tf.TimeColumn).WithHint(DidYouMean(tf.TimeColumn, names))
	}
	if k := schema[col].Type.Kind; k != types.KindTimestamp {
		return nil, b.errorf(tf.TimeColumnPos, "the time column of %s must be a TIMESTAMP, not %s", tf.Name, schema[col].Type.Nullable())
	}
	// Event time needs a watermark on that column: a window fires when
	// the watermark passes its end. Processing time (PROCTIME()) needs
	// none: its windows close as the clock passes their end.
	w := &Window{Input: in, TimeCol: col, ProcTime: procTime(in, col)}
	if s, ok := in.(*Scan); ok {
		if w := s.Table.Watermark; w == nil || !strings.EqualFold(w.Column, tf.TimeColumn) {
			return nil, b.errorf(tf.TimeColumnPos, "column %s is not a time attribute: declare WATERMARK FOR %s AS ... on table %s", tf.TimeColumn, tf.TimeColumn, s.Table.Name)
		}
	}
	for _, f := range schema {
		for _, w := range windowColumns {
			if strings.EqualFold(f.Name, w) {
				return nil, b.errorf(tf.TablePos, "the input of %s already has a column %s", tf.Name, f.Name)
			}
		}
	}
	ivs := make([]int64, len(tf.Intervals))
	for i, iv := range tf.Intervals {
		us, err := intervalMicros(iv)
		if err != nil {
			return nil, b.errorf(iv.Pos, "%v", err)
		}
		ivs[i] = us
	}
	positive := func(i int, what string) error {
		if ivs[i] <= 0 {
			return b.errorf(tf.Intervals[i].Pos, "the %s of %s must be positive", what, tf.Name)
		}
		return nil
	}
	var err error
	switch tf.Name {
	case "TUMBLE":
		w.Kind, w.Size = Tumble, ivs[0]
		err = positive(0, "size")
		if len(ivs) > 1 {
			w.Offset = ivs[1]
		}
	case "HOP":
		w.Kind, w.Slide, w.Size = Hop, ivs[0], ivs[1]
		if err = positive(0, "slide"); err == nil {
			err = positive(1, "size")
		}
		if err == nil && w.Size%w.Slide != 0 {
			err = b.errorf(tf.Intervals[1].Pos, "the size of HOP must be a multiple of its slide")
		}
		if len(ivs) > 2 {
			w.Offset = ivs[2]
		}
	case "CUMULATE":
		w.Kind, w.Slide, w.Size = Cumulate, ivs[0], ivs[1]
		if err = positive(0, "step"); err == nil {
			err = positive(1, "size")
		}
		if err == nil && w.Size%w.Slide != 0 {
			err = b.errorf(tf.Intervals[1].Pos, "the size of CUMULATE must be a multiple of its step")
		}
		if len(ivs) > 2 {
			w.Offset = ivs[2]
		}
	case "SESSION":
		w.Kind, w.Gap = Session, ivs[0]
		err = positive(0, "gap")
	}
	if err != nil {
		return nil, err
	}
	w.Out = append(w.Out, schema...)
	ts := types.Timestamp(3).WithNotNull(true)
	for _, c := range windowColumns {
		w.Out = append(w.Out, types.Field{Name: c, Type: ts})
	}
	return w, nil
}

// intervalMicros is a window interval in microseconds. Months and years
// have no fixed length, so windows do not take them.
func intervalMicros(iv Interval) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(iv.Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the quantity of a window interval must be a whole number, not %q", iv.Value)
	}
	var unit int64
	switch strings.TrimSuffix(iv.Unit, "S") {
	case "MICROSECOND":
		unit = 1
	case "MILLISECOND":
		unit = 1_000
	case "SECOND":
		unit = 1_000_000
	case "MINUTE":
		unit = 60_000_000
	case "HOUR":
		unit = 3_600_000_000
	case "DAY":
		unit = 86_400_000_000
	default:
		return 0, fmt.Errorf("a window interval is in MILLISECOND, SECOND, MINUTE, HOUR or DAY, not %s", iv.Unit)
	}
	if n > (1<<62)/unit {
		return 0, fmt.Errorf("window interval %s %s is too long", iv.Value, iv.Unit)
	}
	return n * unit, nil
}

// procTime reports whether column col of r is a processing-time
// attribute: computed by PROCTIME() (or NOW()) in a projection below.
func procTime(r Rel, col int) bool {
	for {
		switch n := r.(type) {
		case *Project:
			switch e := n.Exprs[col].(type) {
			case *expr.ColumnRef:
				r, col = n.Input, e.Index
				continue
			case *expr.Call:
				return e.Fn == expr.FnCurrentTimestamp
			}
			return false
		case *Filter:
			r = n.Input
		default:
			return false
		}
	}
}
