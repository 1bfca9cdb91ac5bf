package runtime

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// TestOperatorScripts runs the stateful operators over scripted input in
// virtual time (testdata/operators; rewrite with -rewrite):
//
//	group-aggregate            COUNT(*), SUM(v) per k over (k, v)
//	window-aggregate           COUNT(*), SUM(v) per (k, end) over (k, end, v)
//	session-aggregate gap=N    COUNT(*), SUM(v) per k and session of gap N s
//	top-n limit=N [retract]    the N highest v per k, with their numbers;
//	                           with retract, over an updating input
//	ingest [watermark=N]       rows, one a line: [+I|-U|+U|-D] values; then
//	                           the watermark, in seconds (end for the end
//	                           of time); prints what the operator emits
//
// Times are whole seconds. A session row "k t v" gets the window
// [t, t+gap), as the SESSION table function gives it.
func TestOperatorScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/operators", func(t *testing.T, path string) {
		var op Operator
		var in types.Schema
		var gap int64
		late := new(atomic.Int64)
		reported := int64(0)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var err error
			str, ts, big := types.String(), types.Timestamp(3), types.BigInt()
			count := sql.AggCall{Fn: "COUNT", Arg: -1, T: big.WithNotNull(true)}
			switch d.Cmd {
			case "group-aggregate":
				in = types.Schema{{Name: "k", Type: str}, {Name: "v", Type: big}}
				op, err = NewGroupAggregate(in, []int{0}, []sql.AggCall{count, {Fn: "SUM", Arg: 1, T: big}}, true, nil)
			case "window-aggregate":
				in = types.Schema{{Name: "k", Type: str}, {Name: "end", Type: ts}, {Name: "v", Type: big}}
				op, err = NewWindowAggregate(in, []int{0, 1}, 1, []sql.AggCall{count, {Fn: "SUM", Arg: 2, T: big}}, late)
			case "session-aggregate":
				var g int
				d.ScanArgs(t, "gap", &g)
				gap = int64(g)
				in = types.Schema{{Name: "k", Type: str}, {Name: "ws", Type: ts}, {Name: "we", Type: ts}, {Name: "v", Type: big}}
				op, err = NewSessionAggregate(in, []int{0, 1, 2}, 1, 2, []sql.AggCall{count, {Fn: "SUM", Arg: 3, T: big}}, late)
			case "top-n":
				var limit int
				d.ScanArgs(t, "limit", &limit)
				in = types.Schema{{Name: "k", Type: str}, {Name: "v", Type: big}}
				var top *TopN
				top, err = NewTopN(in, &sql.Rank{Partition: []int{0}, Order: []sql.SortKey{{Col: 1, Desc: true}}, Limit: int64(limit)}, nil)
				if d.HasArg("retract") {
					top.retracting()
				}
				op = top
			case "ingest":
				return ingest(t, d, op, in, gap, late, &reported)
			default:
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			}
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return ""
		})
	})
}

func ingest(t *testing.T, d *datadriven.TestData, op Operator, in types.Schema, gap int64, late *atomic.Int64, reported *int64) string {
	const sec = int64(1_000_000)
	b := types.NewBatch(in, 8)
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		kind := types.Insert
		switch f[0] {
		case "+I", "-U", "+U", "-D":
			kind = map[string]types.ChangeKind{"+I": types.Insert, "-U": types.UpdateBefore, "+U": types.UpdateAfter, "-D": types.Delete}[f[0]]
			f = f[1:]
		}
		if gap > 0 { // a session row: k t v, windowed [t, t+gap)
			f = []string{f[0], f[1], strconv.FormatInt(mustInt(t, f[1])+gap, 10), f[2]}
		}
		for c, field := range in {
			switch field.Type.Kind {
			case types.KindString:
				b.Cols[c].AppendString(f[c])
			case types.KindTimestamp:
				b.Cols[c].AppendInt(mustInt(t, f[c]) * sec)
			default:
				b.Cols[c].AppendInt(mustInt(t, f[c]))
			}
		}
		b.SetLen(b.Len() + 1)
		b.SetKind(b.Len()-1, kind)
	}
	for _, a := range d.CmdArgs {
		if a.Key == "watermark" {
			if a.Vals[0] == "end" {
				b.Watermark = types.EndOfTime
			} else {
				b.Watermark = mustInt(t, a.Vals[0]) * sec
			}
		}
	}
	var out strings.Builder
	err := op.Process(b, func(o *types.Batch) error {
		o.ForEach(func(i int) {
			out.WriteString(opText[o.Kind(i)])
			for c, v := range o.Cols {
				if v.Type.Kind == types.KindTimestamp {
					fmt.Fprintf(&out, " %d", v.Ints[i]/sec)
					continue
				}
				fmt.Fprintf(&out, " %s", types.Text(v.Value(i), o.Cols[c].Type))
			}
			out.WriteByte('\n')
		})
		return nil
	})
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	if n := late.Load(); n != *reported {
		fmt.Fprintf(&out, "late rows: %d\n", n)
		*reported = n
	}
	return out.String()
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
