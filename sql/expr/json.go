package expr

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/sluice-sql/sluice/sql/types"
)

// The JSON functions. A document argument may be STRING or JSON (both
// hold JSON text); a document that is not valid JSON, like a path that
// leads nowhere, gives NULL rather than failing the stream. A constant
// path is parsed once by Compile; a malformed one is an *ArgError.
//
// Paths are MySQL's subset without wildcards: $ (the document), then any
// of .key, ."quoted key" and [n] (a 0-based array index).
const (
	// FnJSONValue is JSON_VALUE(doc, path): the scalar at path as text
	// (a string unquoted, a number as written, true or false); NULL for
	// JSON null, an object or an array (Flink's NULL ON EMPTY/ERROR).
	FnJSONValue = "JSON_VALUE"
	// FnJSONExtract is JSON_EXTRACT(doc, path), doc->path: the value at
	// path as compact JSON text.
	FnJSONExtract = "JSON_EXTRACT"
	// FnJSONUnquote is JSON_UNQUOTE(s): the contents of s when s is a
	// JSON string, else s as is. doc->>path is
	// JSON_UNQUOTE(JSON_EXTRACT(doc, path)), compiled as one step.
	FnJSONUnquote = "JSON_UNQUOTE"
)

// ErrBadJSONPath classifies (errors.Is) the error for a malformed JSON path.
var ErrBadJSONPath = errors.New("bad JSON path")

func isDocArg(t types.Type) bool { return isStringArg(t) || t.Kind == types.KindJSON }

var jsonBuiltins = map[string]builtin{
	FnJSONValue: {func(a []types.Type) (types.Type, error) {
		if err := argRange(a, 2, 2); err != nil {
			return types.Type{}, err
		}
		return types.String(), wantArgs(a, isDocArg, isStringArg)
	}, compileJSONPath},
	FnJSONExtract: {func(a []types.Type) (types.Type, error) {
		if err := argRange(a, 2, 2); err != nil {
			return types.Type{}, err
		}
		return types.JSON(), wantArgs(a, isDocArg, isStringArg)
	}, compileJSONPath},
	FnJSONUnquote: {func(a []types.Type) (types.Type, error) {
		if err := argRange(a, 1, 1); err != nil {
			return types.Type{}, err
		}
		return types.String().WithNotNull(allNotNull(a)), wantArgs(a, isDocArg)
	}, compileJSONUnquote},
}

// jsonStep is one step of a JSON path: an object key, or an array index
// when index >= 0.
type jsonStep struct {
	key   string
	index int
}

// parseJSONPath parses a path into steps, reusing steps' storage.
func parseJSONPath(steps []jsonStep, p []byte) ([]jsonStep, error) {
	bad := func(why string) ([]jsonStep, error) {
		return nil, &sentinelError{ErrBadJSONPath, fmt.Sprintf("invalid JSON path %q: %s", p, why)}
	}
	steps = steps[:0]
	s := bytes.TrimSpace(p)
	if len(s) == 0 || s[0] != '$' {
		return bad("must start with $")
	}
	s = s[1:]
	for len(s) > 0 {
		switch s[0] {
		case '.':
			s = s[1:]
			if len(s) > 0 && s[0] == '"' {
				end := 1
				for end < len(s) && s[end] != '"' {
					if s[end] == '\\' {
						end++
					}
					end++
				}
				if end >= len(s) {
					return bad("unterminated quoted key")
				}
				key, err := strconv.Unquote(string(s[:end+1]))
				if err != nil {
					return bad("bad quoted key")
				}
				steps = append(steps, jsonStep{key: key, index: -1})
				s = s[end+1:]
				continue
			}
			end := 0
			for end < len(s) && s[end] != '.' && s[end] != '[' && s[end] != ' ' {
				end++
			}
			switch {
			case end == 0:
				return bad("empty key")
			case end == 1 && s[0] == '*':
				return bad("wildcards are not supported")
			}
			steps = append(steps, jsonStep{key: string(s[:end]), index: -1})
			s = s[end:]
		case '[':
			end := bytes.IndexByte(s, ']')
			if end < 0 {
				return bad("unterminated [")
			}
			n, err := strconv.Atoi(string(bytes.TrimSpace(s[1:end])))
			if err != nil || n < 0 {
				return bad("array index must be a non-negative integer")
			}
			steps = append(steps, jsonStep{index: n})
			s = s[end+1:]
		default:
			return bad(fmt.Sprintf("unexpected %q", s[0]))
		}
	}
	return steps, nil
}

// jsonAt returns the value at path in v, or nil.
func jsonAt(v *fastjson.Value, path []jsonStep) *fastjson.Value {
	for _, st := range path {
		if st.index >= 0 {
			if v.Type() != fastjson.TypeArray {
				return nil
			}
			a, _ := v.Array()
			if st.index >= len(a) {
				return nil
			}
			v = a[st.index]
			continue
		}
		if v.Type() != fastjson.TypeObject {
			return nil
		}
		o, _ := v.Object()
		if v = o.Get(st.key); v == nil {
			return nil
		}
	}
	return v
}

// jsonOut is what a path function makes of the value found.
type jsonOut uint8

const (
	outValue   jsonOut = iota // JSON_VALUE
	outExtract                // JSON_EXTRACT
	outUnquote                // JSON_UNQUOTE(JSON_EXTRACT)
)

// appendJSON appends the result of kind k for v (ok false: NULL).
func appendJSON(buf []byte, v *fastjson.Value, k jsonOut) ([]byte, bool) {
	if v == nil {
		return buf, false
	}
	switch v.Type() {
	case fastjson.TypeString:
		if k != outExtract {
			return append(buf, v.GetStringBytes()...), true
		}
	case fastjson.TypeNull, fastjson.TypeObject, fastjson.TypeArray:
		if k == outValue {
			return buf, false
		}
	}
	return v.MarshalTo(buf), true
}

// docTypes are the cast targets of a document and a path: documents keep
// JSON, anything else is read as STRING.
func docTypes(args []Expr) []types.Type {
	ts := make([]types.Type, len(args))
	for i, a := range args {
		ts[i] = types.String()
		if a.Type().Kind == types.KindJSON {
			ts[i] = types.JSON()
		}
	}
	return ts
}

func compileJSONPath(c *Call, rt types.Type) (Evaluator, error) {
	k := outValue
	if c.Fn == FnJSONExtract {
		k = outExtract
	}
	return compileJSONFunc(c.Fn, c.Args, k, rt)
}

// compileJSONFunc compiles a path function over args (doc, path).
func compileJSONFunc(fn string, args []Expr, k jsonOut, rt types.Type) (Evaluator, error) {
	var p fastjson.Parser
	var buf []byte
	var path []jsonStep
	emit := func(out *types.Vector, doc []byte) {
		v, err := p.ParseBytes(doc)
		if err != nil {
			out.AppendNull()
			return
		}
		var ok bool
		if buf, ok = appendJSON(buf[:0], jsonAt(v, path), k); ok {
			out.AppendBytes(buf)
		} else {
			out.AppendNull()
		}
	}
	ts := docTypes(args)
	if pat, null, ok := constBytes(args[1]); ok {
		if null {
			return &constEval{s: &scalar{t: rt, null: true}}, nil
		}
		var err error
		if path, err = parseJSONPath(nil, pat); err != nil {
			return nil, &ArgError{Fn: fn, Arg: 1, Err: err}
		}
		return newRowFunc(fn, rt, true, args[:1], ts[:1], func(out *types.Vector, a []*types.Vector, i int) error {
			emit(out, a[0].Bytes(i))
			return nil
		})
	}
	var last []byte
	parsed := false
	return newRowFunc(fn, rt, true, args, ts, func(out *types.Vector, a []*types.Vector, i int) error {
		if s := a[1].Bytes(i); !parsed || !bytes.Equal(s, last) {
			last = append(last[:0], s...)
			var err error
			if path, err = parseJSONPath(path, last); err != nil {
				parsed = false
				return err
			}
			parsed = true
		}
		emit(out, a[0].Bytes(i))
		return nil
	})
}

func compileJSONUnquote(c *Call, rt types.Type) (Evaluator, error) {
	if x, ok := c.Args[0].(*Call); ok && x.Fn == FnJSONExtract && len(x.Args) == 2 {
		if _, err := ResultType(x.Fn, []types.Type{x.Args[0].Type(), x.Args[1].Type()}); err == nil {
			return compileJSONFunc(c.Fn, x.Args, outUnquote, rt)
		}
	}
	var p fastjson.Parser
	var buf []byte
	return newRowFunc(c.Fn, rt, true, c.Args, docTypes(c.Args), func(out *types.Vector, a []*types.Vector, i int) error {
		s := a[0].Bytes(i)
		if t := bytes.TrimSpace(s); len(t) > 0 && t[0] == '"' {
			if v, err := p.ParseBytes(t); err == nil && v.Type() == fastjson.TypeString {
				buf = append(buf[:0], v.GetStringBytes()...)
				out.AppendBytes(buf)
				return nil
			}
		}
		out.AppendBytes(s)
		return nil
	})
}
