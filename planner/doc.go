// Package planner turns a bound query into a physical plan: the operators
// a job runs, their parallelism and the exchanges between them, and the
// checks that the result fits where it goes.
//
// This first planner knows one shape, the stateless pipeline
//
//	Source → [Filter] → Project → Sink
//
// with every edge a forward exchange (each instance feeds the same
// instance of the next operator), which the runtime fuses into one chain
// per instance. The rewrite rules (rules.go: constant folding, dropping a
// filter that is always TRUE, marking one that is never TRUE) run on the
// physical plan and record what fired in Physical.Rules, which Explain
// prints. The logical plan, the other rules and the other exchanges
// (hash, broadcast) come with the stateful operators.
//
// Invariants a reader must not break:
//   - A Physical's Projections produce exactly the sink's columns, in the
//     sink's order and of the sink's types: every conversion a sink needs is
//     an explicit expr.Cast made here, so the runtime never converts.
//   - Plan compiles only the constant subexpressions it folds, and throws
//     the evaluators away; each runtime instance compiles its own (an
//     expr.Evaluator owns scratch and is used by one goroutine).
//   - A rewrite rule keeps every expression's type: a folded constant has
//     the type of what it replaced, so the sink invariant above holds.
package planner
