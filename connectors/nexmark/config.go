package nexmark

import (
	"errors"
	"fmt"
	"time"
)

// Constants of the standard generator that its configuration does not
// expose.
const (
	firstPersonID   = 1000 // ids start here so small runs still match queries
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5

	// hotBatch is the batch size of the hot ratios: a hot auction is the
	// first of the latest 100 auctions, a hot seller the first of the
	// latest 100 people, a hot bidder the second.
	hotBatch = 100

	// personIDLead and auctionIDLead are how many not-yet-generated ids a
	// random (non-hot) reference may name: the standard generator lets a
	// bid or auction arrive a little before the entity it refers to.
	personIDLead  = 10
	auctionIDLead = 10

	hotChannelsRatio = 2
	numChannels      = 10000
)

// Clock tells the time to a rate-limited generator. Tests inject one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config says which events a Generator produces. The zero value, after
// EnsureDefaults, is the standard Nexmark configuration at its defaults
// (1:3:46, hot ratios 2/4/4, 10,000 events per second of event time),
// unbounded and not rate limited.
type Config struct {
	// Seed varies the random draws. With 0 each event's java.util.Random
	// is seeded with its event id, exactly as in the standard generator;
	// any other seed is mixed into that seed.
	Seed int64

	// FirstEventID is added to every event number to form its id, which
	// decides the event's kind and seeds its random draws.
	FirstEventID int64
	// FirstEventNumber is the first event of the sequence; event numbers
	// also decide event times.
	FirstEventNumber int64
	// MaxEvents bounds the sequence to events FirstEventNumber up to
	// FirstEventNumber+MaxEvents-1, summed over all tables and splits. 0
	// is unbounded.
	MaxEvents int64

	// Rate paces generation at this many events per second of wall-clock
	// time, counted over the whole sequence (all tables, all splits). 0
	// generates as fast as the caller asks.
	Rate int64
	// Clock is the wall clock for Rate; nil is the system clock.
	Clock Clock

	// BaseTime is the event time of event number 0; the zero Time means
	// the Unix epoch. Event times have millisecond precision.
	BaseTime time.Time
	// InterEventDelay is the event time between consecutive events of the
	// sequence. 0 means 1s/Rate when Rate is set, otherwise 100µs (the
	// standard first-event rate of 10,000 events per second).
	InterEventDelay time.Duration

	// PersonProportion, AuctionProportion and BidProportion are the shares
	// of each kind in every cycle of their sum. 0 means 1, 3 and 46.
	PersonProportion, AuctionProportion, BidProportion int

	// HotAuctionRatio: a bid is for a hot auction with probability
	// 1-1/HotAuctionRatio. HotSellersRatio and HotBiddersRatio likewise for
	// an auction's seller and a bid's bidder. 0 means 2, 4 and 4; 1 turns
	// hotness off.
	HotAuctionRatio, HotSellersRatio, HotBiddersRatio int

	// NumActivePeople is how many of the latest people a random seller or
	// bidder is drawn from (default 1000); NumInFlightAuctions how many of
	// the latest auctions a random bid is for (default 100). The latter
	// also sets auction lengths.
	NumActivePeople, NumInFlightAuctions int

	// AvgPersonByteSize, AvgAuctionByteSize and AvgBidByteSize are the
	// average sizes the extra column pads rows to (defaults 200, 500, 100).
	AvgPersonByteSize, AvgAuctionByteSize, AvgBidByteSize int

	// Split and Splits select split Split of Splits (0-based): a generator
	// produces only its split's share of the sequence. Splits 0 means 1.
	Split, Splits int
}

// EnsureDefaults fills the zero fields with the standard defaults.
func (c *Config) EnsureDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.PersonProportion, 1)
	def(&c.AuctionProportion, 3)
	def(&c.BidProportion, 46)
	def(&c.HotAuctionRatio, 2)
	def(&c.HotSellersRatio, 4)
	def(&c.HotBiddersRatio, 4)
	def(&c.NumActivePeople, 1000)
	def(&c.NumInFlightAuctions, 100)
	def(&c.AvgPersonByteSize, 200)
	def(&c.AvgAuctionByteSize, 500)
	def(&c.AvgBidByteSize, 100)
	def(&c.Splits, 1)
	if c.InterEventDelay == 0 {
		if c.Rate > 0 {
			c.InterEventDelay = time.Second / time.Duration(c.Rate)
		}
		if c.InterEventDelay == 0 {
			c.InterEventDelay = 100 * time.Microsecond
		}
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
}

// ErrInvalidConfig classifies every error Validate returns.
var ErrInvalidConfig = errors.New("nexmark: invalid config")

// Validate reports the first setting that is out of range.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.FirstEventID < 0 || c.FirstEventNumber < 0 || c.MaxEvents < 0:
		return bad("first event id, first event number and max events must not be negative")
	case c.Rate < 0:
		return bad("rate %d is negative", c.Rate)
	case c.InterEventDelay < 0:
		return bad("inter-event delay %v is negative", c.InterEventDelay)
	case c.PersonProportion < 1 || c.AuctionProportion < 1 || c.BidProportion < 1:
		return bad("proportions %d:%d:%d must each be at least 1",
			c.PersonProportion, c.AuctionProportion, c.BidProportion)
	case c.HotAuctionRatio < 1 || c.HotSellersRatio < 1 || c.HotBiddersRatio < 1:
		return bad("hot ratios must be at least 1")
	case c.NumActivePeople < 1 || c.NumInFlightAuctions < 1:
		return bad("active people and in-flight auctions must be at least 1")
	case c.AvgPersonByteSize < 0 || c.AvgAuctionByteSize < 0 || c.AvgBidByteSize < 0:
		return bad("average byte sizes must not be negative")
	case c.Splits < 1 || c.Split < 0 || c.Split >= c.Splits:
		return bad("split %d of %d", c.Split, c.Splits)
	}
	return nil
}

func (c *Config) totalProportion() int64 {
	return int64(c.PersonProportion + c.AuctionProportion + c.BidProportion)
}

// lastBase0PersonID is the id, less firstPersonID, of the latest person at
// or before event id: the event's own id when it is a person.
func (c *Config) lastBase0PersonID(eventID int64) int64 {
	total := c.totalProportion()
	epoch, offset := eventID/total, eventID%total
	if p := int64(c.PersonProportion); offset >= p {
		offset = p - 1
	}
	return epoch*int64(c.PersonProportion) + offset
}

// lastBase0AuctionID is the id, less firstAuctionID, of the latest auction
// at or before event id (-1 before the first).
func (c *Config) lastBase0AuctionID(eventID int64) int64 {
	total := c.totalProportion()
	epoch, offset := eventID/total, eventID%total
	p, a := int64(c.PersonProportion), int64(c.AuctionProportion)
	switch {
	case offset < p:
		epoch--
		offset = a - 1
	case offset >= p+a:
		offset = a - 1
	default:
		offset -= p
	}
	return epoch*a + offset
}

// nextBase0PersonID draws a person among the active ones, or a few ids
// ahead of the latest.
func (c *Config) nextBase0PersonID(eventID int64, r *javaRandom) int64 {
	numPeople := c.lastBase0PersonID(eventID) + 1
	active := min(numPeople, int64(c.NumActivePeople))
	return numPeople - active + r.longn(active+personIDLead)
}

// nextBase0AuctionID draws an auction among those likely still in flight,
// or a few ids ahead of the latest.
func (c *Config) nextBase0AuctionID(eventID int64, r *javaRandom) int64 {
	maxAuction := c.lastBase0AuctionID(eventID)
	minAuction := max(maxAuction-int64(c.NumInFlightAuctions), 0)
	return minAuction + r.longn(maxAuction-minAuction+1+auctionIDLead)
}
