package nexmark

import (
	"math"
	"math/bits"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// Progress is what one call of Generator.Next produced and what the
// caller may do next.
type Progress struct {
	// Rows is how many rows the batch now holds.
	Rows int
	// EventTime bounds the event time, in microseconds since the epoch,
	// of every row the generator will produce from now on: no later row
	// has an earlier date_time. It is the basis of the table's watermark,
	// and math.MaxInt64 once Done.
	EventTime int64
	// Done reports that the bounded sequence holds no more rows for this
	// generator; every later call returns no rows.
	Done bool
	// Due is, for a rate-limited generator that is not done, the wall
	// time at which its next row becomes due. A caller that got fewer rows
	// than it asked for waits until then (a timer, not a poll), or longer
	// to gather a fuller batch. It is the zero Time otherwise.
	Due time.Time
}

// Generator produces one table's rows of a Nexmark event sequence. It is
// not safe for concurrent use; run one per split.
type Generator struct {
	cfg    Config
	table  Table
	schema types.Schema

	// Derived from cfg once.
	total      int64 // events per proportion cycle
	lo, hi     int64 // the table's offsets within a cycle: [lo, hi)
	end        int64 // one past the last event number; MaxInt64 unbounded
	mix        int64 // xor-ed into each event's random seed
	baseMillis int64
	delayNanos uint64
	auctionGap int64 // events until NumInFlightAuctions more auctions

	// pos is the next event number to consider: every event before it
	// has been produced or is not this generator's.
	pos int64

	// Rate limiting: event n is due at wallStart + (n-wallPos)/Rate.
	wallStarted bool
	wallStart   time.Time
	wallPos     int64

	rnd     javaRandom
	scratch []byte

	// hotURLs and channel URLs (bid table only), deterministic for the
	// seed: channel i's url is urls[urlOff[i]:urlOff[i+1]].
	hotURLs [len(hotChannels)][]byte
	urls    []byte
	urlOff  []int32
}

// New returns a generator of table's rows for cfg, positioned at the start
// of the sequence. cfg is completed with EnsureDefaults and validated.
func New(cfg Config, table Table) (*Generator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if table > TableBid {
		return nil, ErrUnknownTable
	}
	g := &Generator{
		cfg:        cfg,
		table:      table,
		schema:     table.Schema(),
		total:      cfg.totalProportion(),
		end:        math.MaxInt64,
		delayNanos: uint64(cfg.InterEventDelay),
		scratch:    make([]byte, 0, 1024),
	}
	p, a := int64(cfg.PersonProportion), int64(cfg.AuctionProportion)
	switch table {
	case TablePerson:
		g.lo, g.hi = 0, p
	case TableAuction:
		g.lo, g.hi = p, p+a
	case TableBid:
		g.lo, g.hi = p+a, g.total
	}
	if cfg.MaxEvents > 0 && cfg.FirstEventNumber <= math.MaxInt64-cfg.MaxEvents {
		g.end = cfg.FirstEventNumber + cfg.MaxEvents
	}
	if cfg.Seed != 0 {
		g.mix = int64(uint64(cfg.Seed) * 0x9E3779B97F4A7C15)
	}
	if !cfg.BaseTime.IsZero() {
		g.baseMillis = cfg.BaseTime.UnixMilli()
	}
	g.auctionGap = int64(cfg.NumInFlightAuctions) * g.total / a
	g.pos = cfg.FirstEventNumber
	if table == TableBid {
		g.buildURLs()
	}
	return g, nil
}

// Schema returns the generator's table schema.
func (g *Generator) Schema() types.Schema { return g.table.Schema() }

// Position returns the next event number the generator will consider;
// with SetPosition it is the generator's checkpointable offset.
func (g *Generator) Position() int64 { return g.pos }

// SetPosition positions the generator at event number pos (a Position it
// returned earlier): the rows it produces next are exactly those a fresh
// generator produces after reaching pos. Rate limiting restarts its
// schedule at the next call of Next.
func (g *Generator) SetPosition(pos int64) {
	g.pos = max(pos, g.cfg.FirstEventNumber)
	g.wallStarted = false
}

// Next empties b, fills it with up to want rows of the generator's table
// (fewer when the sequence ends or, rate limited, when no more are due)
// and reports what it produced. Once b's vectors have grown to hold want
// rows, Next allocates nothing.
func (g *Generator) Next(b *types.Batch, want int) Progress {
	b.Reset(g.schema, want)
	limit := g.end
	if g.cfg.Rate > 0 {
		limit = min(limit, g.dueLimit())
	}
	rows := 0
	for rows < want {
		n := g.nextOwned(g.pos)
		if n >= limit {
			// Every event before limit is produced or not ours.
			g.pos = max(g.pos, limit)
			break
		}
		switch g.table {
		case TablePerson:
			g.person(b, n)
		case TableAuction:
			g.auction(b, n)
		default:
			g.bid(b, n)
		}
		g.pos = n + 1
		rows++
	}
	b.SetLen(rows)

	p := Progress{Rows: rows}
	next := g.nextOwned(g.pos)
	if next >= g.end {
		p.Done = true
		p.EventTime = math.MaxInt64
		return p
	}
	p.EventTime = g.timestampMillis(next) * 1000
	if g.cfg.Rate > 0 {
		p.Due = g.dueTime(next)
	}
	return p
}

// nextOwned returns the first event number at or after n that is of the
// generator's table and in its split.
func (g *Generator) nextOwned(n int64) int64 {
	id := g.cfg.FirstEventID + n
	c, off := id/g.total, id%g.total
	switch {
	case off >= g.hi:
		c, off = c+1, g.lo
	case off < g.lo:
		off = g.lo
	}
	if s := int64(g.cfg.Splits); s > 1 {
		if r := c % s; r != int64(g.cfg.Split) {
			c += (int64(g.cfg.Split) - r + s) % s
			off = g.lo
		}
	}
	return c*g.total + off - g.cfg.FirstEventID
}

// timestampMillis is event n's time: BaseTime + n*InterEventDelay,
// truncated to the millisecond as the standard generator does.
func (g *Generator) timestampMillis(n int64) int64 {
	hi, lo := bits.Mul64(uint64(n), g.delayNanos)
	if hi >= 1e6 {
		return math.MaxInt64 / 1000 // beyond any representable time
	}
	q, _ := bits.Div64(hi, lo, 1e6)
	return g.baseMillis + int64(q)
}

// dueLimit returns one past the last event number due by now, starting
// the wall-clock schedule at the generator's position on first use.
func (g *Generator) dueLimit() int64 {
	now := g.cfg.Clock.Now()
	if !g.wallStarted {
		g.wallStarted, g.wallStart, g.wallPos = true, now, g.pos
	}
	elapsed := now.Sub(g.wallStart)
	if elapsed < 0 {
		elapsed = 0
	}
	// Event wallPos+k is due when k*1e9/Rate <= elapsed nanoseconds.
	hi, lo := bits.Mul64(uint64(elapsed), uint64(g.cfg.Rate))
	if hi >= 1e9 {
		return math.MaxInt64
	}
	k, _ := bits.Div64(hi, lo, 1e9)
	if int64(k) > math.MaxInt64-1-g.wallPos {
		return math.MaxInt64
	}
	return g.wallPos + int64(k) + 1
}

// dueTime returns the wall time at which event n (>= wallPos) is due.
func (g *Generator) dueTime(n int64) time.Time {
	k := uint64(n - g.wallPos)
	hi, lo := bits.Mul64(k, 1e9)
	rate := uint64(g.cfg.Rate)
	if hi >= rate {
		return g.wallStart.Add(math.MaxInt64)
	}
	q, r := bits.Div64(hi, lo, rate)
	if r != 0 {
		q++
	}
	return g.wallStart.Add(time.Duration(q))
}
