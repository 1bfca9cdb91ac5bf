package expr

import (
	"github.com/sluice-sql/sluice/sql/types"
)

// caseEval is CASE, and IF, NULLIF and COALESCE written as CASE. Each
// branch is evaluated only over the live rows still undecided when it is
// reached, so a branch that would fail on rows it does not take (a
// division by zero, a bad cast) does not.
type caseEval struct {
	conds []*operand // nil for COALESCE: a branch is taken where its value is not null
	vals  []*operand // len(conds) or, for COALESCE, all but the last, then the ELSE value
	rt    types.Type
	// scratch, reused across batches
	choice  []int16 // the branch each row took, or -1
	pending []int32
	next    []int32
	take    []int32
	vecs    []*types.Vector
	sub     types.Batch
}

func compileCase(conds, vals []Expr, els Expr, coalesce bool, rt types.Type) (Evaluator, error) {
	e := &caseEval{rt: rt}
	if !coalesce {
		for _, c := range conds {
			o, err := newOperand(castTo(c, types.Boolean()))
			if err != nil {
				return nil, err
			}
			e.conds = append(e.conds, o)
		}
	}
	for _, v := range append(vals[:len(vals):len(vals)], els) {
		o, err := newOperand(castTo(v, rt))
		if err != nil {
			return nil, err
		}
		e.vals = append(e.vals, o)
	}
	e.vecs = make([]*types.Vector, len(e.vals))
	return e, nil
}

func (e *caseEval) Eval(in *types.Batch, out *types.Vector) error {
	n := in.Len()
	choice := e.choice[:0]
	for range n {
		choice = append(choice, -1)
	}
	e.choice = choice
	pending := e.pending[:0]
	if in.Sel != nil {
		pending = append(pending, in.Sel...)
	} else {
		for i := range n {
			pending = append(pending, int32(i))
		}
	}
	e.sub = *in
	clear(e.vecs)
	last := len(e.vals) - 1
	for k := 0; k <= last && len(pending) > 0; k++ {
		var err error
		switch {
		case k == last: // ELSE
			e.sub.Sel = pending
			if e.vecs[k], err = e.vals[k].vec(&e.sub); err != nil {
				return err
			}
			for _, i := range pending {
				choice[i] = int16(k)
			}
			pending = pending[:0]
		case e.conds == nil: // COALESCE
			e.sub.Sel = pending
			v, err := e.vals[k].vec(&e.sub)
			if err != nil {
				return err
			}
			e.vecs[k] = v
			next := e.next[:0]
			for _, i := range pending {
				if v.IsNull(int(i)) {
					next = append(next, i)
				} else {
					choice[i] = int16(k)
				}
			}
			e.next, pending = pending, next
		default:
			e.sub.Sel = pending
			c, err := e.conds[k].vec(&e.sub)
			if err != nil {
				return err
			}
			take, next := e.take[:0], e.next[:0]
			for _, i := range pending {
				if !c.IsNull(int(i)) && c.Bools[i] {
					take = append(take, i)
				} else {
					next = append(next, i)
				}
			}
			e.take = take
			if len(take) > 0 {
				e.sub.Sel = take
				if e.vecs[k], err = e.vals[k].vec(&e.sub); err != nil {
					return err
				}
				for _, i := range take {
					choice[i] = int16(k)
				}
			}
			e.next, pending = pending, next
		}
	}
	e.pending = pending
	gather(out, e.rt, choice, e.vecs)
	return nil
}

// gather fills out with row i of vecs[choice[i]], or null where choice[i]
// is -1.
func gather(out *types.Vector, t types.Type, choice []int16, vecs []*types.Vector) {
	n := len(choice)
	out.Reset(t, n)
	st := storageOf(t)
	if st == stVar {
		for i, k := range choice {
			if k < 0 || vecs[k].IsNull(i) {
				out.AppendNull()
			} else {
				out.AppendBytes(vecs[k].Bytes(i))
			}
		}
		return
	}
	out.SetLen(n)
	for i, k := range choice {
		if k < 0 || vecs[k].IsNull(i) {
			out.Nulls.Set(i)
			continue
		}
		v := vecs[k]
		switch st {
		case stBool:
			out.Bools[i] = v.Bools[i]
		case stInt:
			out.Ints[i] = v.Ints[i]
		case stFloat:
			out.Floats[i] = v.Floats[i]
		case stDec:
			out.Decs[i].Set(&v.Decs[i])
		case stInterval:
			out.Intervals[i] = v.Intervals[i]
		}
	}
	zeroNulls(out)
}
