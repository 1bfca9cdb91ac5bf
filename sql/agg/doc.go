// Package agg is Sluice's library of aggregate functions: the per-group
// accumulators that the grouped-aggregation and window operators fold
// rows into, vectorized over columnar batches and able to take rows back
// (retraction) for updating inputs.
//
// An operator owns one Agg per aggregate call and numbers its groups with
// dense slots. For a batch it computes, once, the slot of every live row
// and the row's weight (+1 for +I and +U, -1 for -U and -D), then calls
// Update once per aggregate with the argument column the expression
// evaluator produced. Result appends a slot's current value to an output
// vector; Count tells whether a group still has rows; AppendState and
// LoadState move one slot to and from the state store; Merge folds one
// slot into another.
//
// Invariants a reader must not break:
//   - Update makes no per-row interface call, and for COUNT, SUM, AVG,
//     MIN and MAX over integer-backed values with an append-only input
//     (Spec.Retract false) no allocation: per-slot state is an array of
//     structs indexed by slot, read and written in one tight loop.
//   - A slot is empty after Grow and after Reset, and Result of an empty
//     slot is what SQL gives for no rows: 0 for COUNT, NULL otherwise.
//   - Weights are +1 or -1 (nil means every weight is +1). Only the sign
//     is read. A retraction of a value that was never folded in is
//     recorded as a negative count where the state is a multiset (MIN,
//     MAX and DISTINCT under Retract), so a later insert of it cancels;
//     FIRST_VALUE and LAST_VALUE ignore it.
//   - Values kept in state never alias an input vector: string keys that
//     are retained are copied (strings.Clone), so vectors may be reused
//     as soon as Update returns.
//   - After Update returns an error, the slots named in that call are in
//     an unspecified state; the operator fails the job.
//   - The state encoding (AppendState) starts with a version byte and a
//     tag naming the accumulator; LoadState refuses anything else. Change
//     the encoding only by adding a version.
//
// Merge(dst, src) is for SESSION windows, whose sessions of one key merge
// when a late row bridges them, and for two-phase aggregation. Its
// contract:
//   - Afterwards dst is as if it had received every row of both slots,
//     dst's rows first and then src's: the order FIRST_VALUE and
//     LAST_VALUE see. The caller decides the order by which slot it
//     passes as dst; the session-window operator passes the earlier
//     session. Under Retract the merged FIRST_VALUE/LAST_VALUE list is
//     dst's live values then src's; a retraction src took before the
//     merge removed one of src's values (the row it retracts), where one
//     slot that had received every row would have removed the earliest
//     equal value, so equal values may sit in another order.
//   - src is left unchanged, so a partial state can be merged into more
//     than one slot; the operator resets it to release its memory. dst
//     and src must differ (Merge panics otherwise).
//   - Counts add, so a retraction that src recorded of a row dst received
//     cancels in a merged count, sum or multiset as it would in one slot
//     (VAR_*, STDDEV_*, FIRST_VALUE and LAST_VALUE ignore a retraction of
//     a value they do not hold, in one slot as across a merge). Sums add
//     exactly (integers, decimals, with the same overflow errors as
//     Update) or as one more compensated step (floats); VAR_* and
//     STDDEV_* combine by Chan's parallel formula; DISTINCT feeds dst's
//     inner accumulator only the values whose count in dst crosses zero.
//   - A merge costs O(1) per slot except for the multisets (MIN/MAX
//     under Retract, DISTINCT), O(src's distinct values), and
//     FIRST_VALUE/LAST_VALUE under Retract, O(src's live values).
//   - After Merge returns an error (an overflow) dst is in an unspecified
//     state, as after Update.
//
// Semantics (Flink's where Flink has a rule, with the exceptions noted):
//   - COUNT(*) counts rows, COUNT(x) non-NULL values; both are BIGINT NOT
//     NULL. SUM, AVG, MIN, MAX, FIRST_VALUE, LAST_VALUE, VAR_* and
//     STDDEV_* ignore NULLs and are NULL over no non-NULL value.
//   - SUM of integers is BIGINT, and an int64 overflow is an error naming
//     the function (errors.Is expr.ErrOverflow), never a wrap-around as in
//     Flink. Under retraction an intermediate sum that overflows is an
//     error even if later rows would bring it back.
//   - SUM(DECIMAL(p,s)) is DECIMAL(38,s), exact (a 128-bit sum); beyond 38
//     digits it is an overflow error.
//   - SUM(DOUBLE) and AVG(DOUBLE) use a compensated (Neumaier) sum. Under
//     retraction a float sum still drifts by a few ulps of the largest
//     partial sum (x + y - y need not be x); infinities and NaN are
//     counted apart from the finite sum, so retracting an infinity gives
//     back the finite sum rather than NaN.
//   - AVG of integers is DOUBLE. Flink returns the argument's integer type
//     (AVG(1, 2) = 1); Sluice returns DOUBLE as PostgreSQL and Spark do,
//     so an average does not silently truncate. The sum behind it is 128
//     bits wide and does not overflow.
//   - AVG(DECIMAL(p,s)) is DECIMAL(38, max(s,6)), computed exactly from
//     the 128-bit sum and rounded half away from zero; a mean that does
//     not fit (only possible for p > 32) is an overflow error from Result.
//   - MIN and MAX take every ordered type: integers, FLOAT/DOUBLE (NaN is
//     greater than every number, as in PostgreSQL and Java), DECIMAL,
//     STRING and BYTES (byte order), DATE, TIMESTAMP and BOOLEAN
//     (FALSE < TRUE). The result has the argument's type.
//   - FIRST_VALUE and LAST_VALUE are the first and last non-NULL value in
//     arrival order (Flink skips NULLs too). Under retraction, removing a
//     value removes its earliest remaining occurrence, so removing the
//     current first makes the next-earliest remaining value first.
//   - VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP are DOUBLE, computed by
//     Welford's update, which also supports removal. The _SAMP forms are
//     NULL below two values; a NaN or infinite input makes the result NaN
//     while it is in the group.
//   - DISTINCT: COUNT, SUM, AVG, VAR_* and STDDEV_* fold a value in when
//     its count in the group goes from zero to positive and take it out
//     when it returns to zero. MIN, MAX, FIRST_VALUE and LAST_VALUE ignore
//     DISTINCT, which does not change their result.
//
// Cost of state:
//   - Without Spec.Retract, MIN, MAX, FIRST_VALUE and LAST_VALUE keep one
//     value per slot and Update refuses a weight of -1 (ErrRetraction):
//     the planner knows the changelog mode of the input.
//   - With Spec.Retract, MIN and MAX keep a multiset (value to count) per
//     slot and a cached extreme; retracting the current extreme makes the
//     next Result scan the slot's distinct values once. FIRST_VALUE and
//     LAST_VALUE keep every live non-NULL value in arrival order: O(1) to
//     append, O(live values) to retract one.
//   - DISTINCT keeps a multiset per slot whatever Retract says.
package agg
