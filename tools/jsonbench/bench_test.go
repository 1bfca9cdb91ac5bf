// Package jsonbench compares JSON decoders on the record shape Sluice
// decodes most: a Nexmark bid, decoded into typed columns. It is its own
// module so that the candidates stay out of Sluice's dependencies.
package jsonbench

import (
	stdjson "encoding/json"
	"testing"

	"github.com/buger/jsonparser"
	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"
	"github.com/valyala/fastjson"
)

var rec = []byte(`{"auction":1000,"bidder":2001,"price":1234567,"channel":"Google","url":"https://www.nexmark.com/item.htm?query=1&channel_id=2468","date_time":"2026-01-01 00:00:00.123","extra":"abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"}`)

type bid struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	Channel  string `json:"channel"`
	URL      string `json:"url"`
	DateTime string `json:"date_time"`
	Extra    string `json:"extra"`
}

// columns is what a decoder fills: typed column storage.
type columns struct {
	ints [3][]int64
	strs [4][]byte
	offs [4][]int32
}

func (c *columns) reset() {
	for i := range c.ints {
		c.ints[i] = c.ints[i][:0]
	}
	for i := range c.strs {
		c.strs[i] = c.strs[i][:0]
		c.offs[i] = c.offs[i][:0]
	}
}
func (c *columns) str(i int, b []byte) {
	c.strs[i] = append(c.strs[i], b...)
	c.offs[i] = append(c.offs[i], int32(len(c.strs[i])))
}

func (c *columns) fromStruct(b *bid) {
	c.ints[0] = append(c.ints[0], b.Auction)
	c.ints[1] = append(c.ints[1], b.Bidder)
	c.ints[2] = append(c.ints[2], b.Price)
	c.strs[0] = append(c.strs[0], b.Channel...)
	c.strs[1] = append(c.strs[1], b.URL...)
	c.strs[2] = append(c.strs[2], b.DateTime...)
	c.strs[3] = append(c.strs[3], b.Extra...)
}

func run(b *testing.B, dec func(c *columns) error) {
	var c columns
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			c.reset()
		}
		if err := dec(&c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStdlib(b *testing.B) {
	var v bid
	run(b, func(c *columns) error { v = bid{}; err := stdjson.Unmarshal(rec, &v); c.fromStruct(&v); return err })
}
func BenchmarkGoccy(b *testing.B) {
	var v bid
	run(b, func(c *columns) error { v = bid{}; err := gojson.Unmarshal(rec, &v); c.fromStruct(&v); return err })
}
func BenchmarkSonic(b *testing.B) {
	var v bid
	run(b, func(c *columns) error { v = bid{}; err := sonic.Unmarshal(rec, &v); c.fromStruct(&v); return err })
}
func BenchmarkSegmentio(b *testing.B) {
	var v bid
	run(b, func(c *columns) error { v = bid{}; err := segjson.Unmarshal(rec, &v); c.fromStruct(&v); return err })
}

// Schema-driven: visit keys, map names to columns, no struct.
var names = map[string]int{"auction": 0, "bidder": 1, "price": 2, "channel": 3, "url": 4, "date_time": 5, "extra": 6}

func BenchmarkFastjson(b *testing.B) {
	var p fastjson.Parser
	run(b, func(c *columns) error {
		v, err := p.ParseBytes(rec)
		if err != nil {
			return err
		}
		o, err := v.Object()
		if err != nil {
			return err
		}
		var ferr error
		o.Visit(func(k []byte, v *fastjson.Value) {
			switch col := names[string(k)]; {
			case col < 3:
				n, err := v.Int64()
				if err != nil {
					ferr = err
				}
				c.ints[col] = append(c.ints[col], n)
			default:
				s, err := v.StringBytes()
				if err != nil {
					ferr = err
				}
				c.str(col-3, s)
			}
		})
		return ferr
	})
}

func BenchmarkJsonparser(b *testing.B) {
	run(b, func(c *columns) error {
		return jsonparser.ObjectEach(rec, func(k, v []byte, t jsonparser.ValueType, _ int) error {
			switch col := names[string(k)]; {
			case col < 3:
				n, err := jsonparser.ParseInt(v)
				if err != nil {
					return err
				}
				c.ints[col] = append(c.ints[col], n)
			default:
				// Unescape only when needed: these have no escapes.
				s, err := jsonparser.Unescape(v, nil)
				if err != nil {
					return err
				}
				c.str(col-3, s)
			}
			return nil
		})
	})
}
