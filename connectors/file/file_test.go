package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

var testSchema = types.Schema{
	{Name: "id", Type: types.BigInt()},
	{Name: "name", Type: types.String()},
}

func rowStrings(b *types.Batch) []string {
	var out []string
	b.ForEach(func(i int) {
		out = append(out, fmt.Sprintf("%v|%v", b.Cols[0].Value(i), b.Cols[1].Value(i)))
	})
	return out
}

func readAll(t *testing.T, opts SourceOptions) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	s, err := NewSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		b := types.NewBatch(opts.Schema, 3)
		st, err := s.Next(ctx, b, 3)
		out = append(out, rowStrings(b)...)
		if err != nil {
			return out, err
		}
		if st.State == connectors.Done {
			return out, nil
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{"json", "csv"} {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out."+f)
			in := types.NewBatch(testSchema, 0)
			for i := range 8 {
				in.Cols[0].AppendInt(int64(i))
				if i%4 == 0 {
					in.Cols[1].AppendNull()
				} else {
					in.Cols[1].AppendString(fmt.Sprintf("a, \"b\" %d", i))
				}
			}
			in.SetLen(8)
			in.Sel = []int32{0, 1, 3, 4, 7}
			s, err := NewSink(SinkOptions{Path: path, Schema: testSchema, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Open(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, SourceOptions{Path: path, Schema: testSchema, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := strings.Join(got, "\n"), strings.Join(rowStrings(in), "\n"); g != w {
				t.Errorf("read back:\n%s\nwant:\n%s", g, w)
			}
			// A second instance of a split source reads nothing.
			other, err := readAll(t, SourceOptions{Path: path, Schema: testSchema, Format: f,
				Split: connectors.Split{Index: 1, Count: 2}})
			if err != nil || len(other) != 0 {
				t.Errorf("split 1 of 2 read %v, %v", other, err)
			}
		})
	}
}

func TestErrorNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.json")
	// Blank lines count: the bad record is on line 4.
	data := "{\"id\":1,\"name\":\"x\"}\r\n\n{\"id\":2}\n{\"id\":\"three\"}\n{\"id\":4}"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, SourceOptions{Path: path, Schema: testSchema, Format: "json"})
	var re *connectors.RecordError
	if !errors.As(err, &re) || re.File != path || re.Line != 4 {
		t.Fatalf("err = %v, want a RecordError at %s:4", err, path)
	}
	if !errors.Is(err, format.ErrWrongType) || !strings.HasPrefix(err.Error(), path+":4: ") {
		t.Errorf("message %q", err)
	}
	if strings.Join(got, ",") != "1|x,2|<nil>" {
		t.Errorf("rows before the error: %v", got)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte("1,a\n2,"+strings.Repeat("b", 100<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, SourceOptions{Path: path, Schema: testSchema, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[1]) != 2+100<<10 {
		t.Errorf("read %d rows, last of %d bytes", len(got), len(got[len(got)-1]))
	}
}
