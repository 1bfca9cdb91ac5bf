// Package expr is Sluice's typed expression IR and its compiler into
// functions over columnar batches.
//
// The binder produces an Expr tree whose every node carries its SQL type
// (ResultType gives the type of a call from its argument types). Compile
// turns the tree, once per query, into an Evaluator; Eval then fills a
// vector with the expression's value for every row of a batch.
//
// Invariants a reader must not break:
//   - Hot loops read and write the typed slices of types.Vector directly.
//     The compiler picks a kernel by argument kinds and constness (column
//     op constant, column op column) once, so Eval makes no per-row
//     interface call and, in steady state, no allocation.
//   - Nulls are handled with bitmaps where SQL allows it: a strict
//     function computes over every row (null slots hold zero values, see
//     package types) and its result's null bitmap is the OR of its
//     arguments'. The result's null slots are then zeroed again.
//   - Errors (division by zero, overflow, a bad cast) are raised only for
//     rows that are live (in Sel) and not null: a kernel computes over all
//     rows, notes cheaply that something may be wrong, and only then walks
//     the rows to find the first live culprit. CASE, COALESCE, IF and
//     NULLIF evaluate a branch only over the rows that take it, so
//     CASE WHEN b <> 0 THEN a / b END never fails.
//   - An Evaluator owns scratch vectors: use one from one goroutine at a
//     time, and compile again for another task.
//   - Compile evaluates a subexpression once when it reads no column and
//     calls no volatile function (Volatile: CURRENT_TIMESTAMP, which
//     reads the clock of Options once per batch). A planner folding
//     constants must keep the same rule.
//
// Semantics chosen (Flink's where Flink has a rule):
//   - Integer arithmetic is done in BIGINT, whatever the declared widths;
//     an overflow of int64 is an error, never a wrap-around.
//   - BIGINT / BIGINT is BIGINT, truncated toward zero (Flink and Calcite:
//     7 / 2 = 3). DIV is integer division of any numerics, giving BIGINT.
//     % and MOD take the sign of the dividend.
//   - Implicit widening for arithmetic, comparison and branch results:
//     TINYINT < SMALLINT < INT < BIGINT < DECIMAL < DOUBLE. An integer
//     joins a decimal as DECIMAL(3|5|10|19, 0) by width; anything with a
//     DOUBLE becomes DOUBLE. Strings never convert implicitly to numbers.
//   - DECIMAL result types follow Flink's LogicalTypeMerging: + and -
//     give scale max(s1,s2) and precision max(p1-s1,p2-s2)+scale+1; *
//     gives (p1+p2, s1+s2); / gives scale max(6, s1+p2+1) and precision
//     p1-s1+s2+scale; % gives (min(p1-s1,p2-s2)+max(s1,s2), max(s1,s2)).
//     A precision over 38 is cut to 38, keeping the integer digits and at
//     least min(scale, 6) digits of scale. Results are rounded half away
//     from zero; a value that does not fit its precision is an error.
//   - Division or modulo by zero is an error for every numeric type.
//   - CAST to an integer truncates toward zero and checks the declared
//     width (CAST(300 AS TINYINT) fails). CAST from STRING trims spaces;
//     an unparsable string is an error. STRING to BOOLEAN accepts
//     true/false, t/f, yes/no, y/n, 1/0 in any case; BOOLEAN to STRING
//     gives TRUE or FALSE. VARCHAR(n) lengths are not enforced yet.
//     STRING converts to TIMESTAMP and DATE in the forms of their
//     literals (an unparsable string is an error; TO_TIMESTAMP gives NULL
//     instead, as Flink does), TIMESTAMP to STRING with as many fraction
//     digits as its precision.
//   - TRY_CAST converts as CAST does but gives NULL for a value that does
//     not convert (unparsable or out of range) instead of an error.
package expr
