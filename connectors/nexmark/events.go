package nexmark

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/sluice-sql/sluice/sql/types"
)

// The standard generator's value lists, kept small so that the example
// queries find matches even on small runs.
var (
	usStates    = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities    = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames  = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
)

// seedEvent seeds the random source for the event with this id. With Seed
// 0 it is new java.util.Random(id), as in the standard generator.
func (g *Generator) seedEvent(id int64) { g.rnd.setSeed(id ^ g.mix) }

// person appends event n, a person, to b.
func (g *Generator) person(b *types.Batch, n int64) {
	c, r := &g.cfg, &g.rnd
	id := c.FirstEventID + n
	g.seedEvent(id)
	cols := b.Cols
	cols[personID].AppendInt(c.lastBase0PersonID(id) + firstPersonID)

	s := append(g.scratch[:0], firstNames[r.intn(int32(len(firstNames)))]...)
	s = append(s, ' ')
	s = append(s, lastNames[r.intn(int32(len(lastNames)))]...)
	cols[personName].AppendBytes(s)
	size := 8 + len(s)

	s = appendNextString(s[:0], r, 7, ' ')
	s = append(s, '@')
	s = appendNextString(s, r, 5, ' ')
	s = append(s, ".com"...)
	cols[personEmail].AppendBytes(s)
	size += len(s)

	s = s[:0]
	for i := 0; i < 4; i++ {
		if i > 0 {
			s = append(s, ' ')
		}
		s = appendDigits4(s, r.intn(10000))
	}
	cols[personCreditCard].AppendBytes(s)
	size += len(s)

	city := usCities[r.intn(int32(len(usCities)))]
	cols[personCity].AppendString(city)
	state := usStates[r.intn(int32(len(usStates)))]
	cols[personState].AppendString(state)
	size += len(city) + len(state)

	cols[personDateTime].AppendInt(g.timestampMillis(n) * 1000)
	s = appendExtra(s[:0], r, size, c.AvgPersonByteSize)
	cols[personExtra].AppendBytes(s)
	g.scratch = s
}

// auction appends event n, an auction, to b.
func (g *Generator) auction(b *types.Batch, n int64) {
	c, r := &g.cfg, &g.rnd
	id := c.FirstEventID + n
	g.seedEvent(id)
	cols := b.Cols
	cols[auctionID].AppendInt(c.lastBase0AuctionID(id) + firstAuctionID)

	var seller int64
	if r.intn(int32(c.HotSellersRatio)) > 0 {
		seller = c.lastBase0PersonID(id) / hotBatch * hotBatch
	} else {
		seller = c.nextBase0PersonID(id, r)
	}
	category := firstCategoryID + int64(r.intn(numCategories))
	initialBid := nextPrice(r)
	ts := g.timestampMillis(n)
	// An auction lasts on average as long as it takes to create
	// NumInFlightAuctions more, so about that many are open at a time.
	horizon := g.timestampMillis(n+g.auctionGap) - ts
	expires := ts + 1 + r.longn(max(2*horizon, 1))

	s := appendNextString(g.scratch[:0], r, 20, ' ')
	cols[auctionItemName].AppendBytes(s)
	size := 8 + len(s)
	s = appendNextString(s[:0], r, 100, ' ')
	cols[auctionDescription].AppendBytes(s)
	size += len(s) + 8*5

	cols[auctionInitialBid].AppendInt(initialBid)
	cols[auctionReserve].AppendInt(initialBid + nextPrice(r))
	cols[auctionDateTime].AppendInt(ts * 1000)
	cols[auctionExpires].AppendInt(expires * 1000)
	cols[auctionSeller].AppendInt(seller + firstPersonID)
	cols[auctionCategory].AppendInt(category)
	s = appendExtra(s[:0], r, size, c.AvgAuctionByteSize)
	cols[auctionExtra].AppendBytes(s)
	g.scratch = s
}

// bid appends event n, a bid, to b.
func (g *Generator) bid(b *types.Batch, n int64) {
	c, r := &g.cfg, &g.rnd
	id := c.FirstEventID + n
	g.seedEvent(id)
	cols := b.Cols

	var auction, bidder int64
	if r.intn(int32(c.HotAuctionRatio)) > 0 {
		auction = c.lastBase0AuctionID(id) / hotBatch * hotBatch
	} else {
		auction = c.nextBase0AuctionID(id, r)
	}
	if r.intn(int32(c.HotBiddersRatio)) > 0 {
		// The second of the batch, so hot bidders are not hot sellers.
		bidder = c.lastBase0PersonID(id)/hotBatch*hotBatch + 1
	} else {
		bidder = c.nextBase0PersonID(id, r)
	}
	cols[bidAuction].AppendInt(auction + firstAuctionID)
	// Flink's nexmark adds firstPersonID to the bidder twice, so its
	// bidders match no person; Beam's (and this) add it once.
	cols[bidBidder].AppendInt(bidder + firstPersonID)
	cols[bidPrice].AppendInt(nextPrice(r))

	if r.intn(hotChannelsRatio) > 0 {
		i := r.intn(int32(len(hotChannels)))
		cols[bidChannel].AppendString(hotChannels[i])
		cols[bidURL].AppendBytes(g.hotURLs[i])
	} else {
		ch := r.intn(numChannels)
		s := append(g.scratch[:0], "channel-"...)
		cols[bidChannel].AppendBytes(strconv.AppendInt(s, int64(ch), 10))
		cols[bidURL].AppendBytes(g.urls[g.urlOff[ch]:g.urlOff[ch+1]])
	}
	cols[bidDateTime].AppendInt(g.timestampMillis(n) * 1000)
	s := appendExtra(g.scratch[:0], r, 8*4, c.AvgBidByteSize)
	cols[bidExtra].AppendBytes(s)
	g.scratch = s
}

// buildURLs makes the hot channels' urls and the per-channel url cache.
// The standard generator draws these from unseeded randoms; here they are
// drawn from randoms seeded by the channel and the config's seed, so that
// they too are deterministic.
func (g *Generator) buildURLs() {
	const tag = 0x6e65786d61726b // "nexmark": apart from event seeds' usual range
	var r javaRandom
	for i := range g.hotURLs {
		r.setSeed(^int64(i) ^ tag ^ g.mix)
		g.hotURLs[i] = appendBaseURL(nil, &r)
	}
	g.urls = make([]byte, 0, numChannels*64)
	g.urlOff = make([]int32, 0, numChannels+1)
	g.urlOff = append(g.urlOff, 0)
	for ch := int32(0); ch < numChannels; ch++ {
		r.setSeed(int64(ch) ^ tag ^ g.mix)
		g.urls = appendBaseURL(g.urls, &r)
		if r.intn(10) > 0 {
			g.urls = append(g.urls, "&channel_id="...)
			// Java's Math.abs(Integer.reverse(ch)), which leaves
			// MinInt32 negative.
			rev := int32(bits.Reverse32(uint32(ch)))
			if rev < 0 && rev != math.MinInt32 {
				rev = -rev
			}
			g.urls = strconv.AppendInt(g.urls, int64(rev), 10)
		}
		g.urlOff = append(g.urlOff, int32(len(g.urls)))
	}
}

func appendBaseURL(dst []byte, r *javaRandom) []byte {
	dst = append(dst, "https://www.nexmark.com/"...)
	for i := 0; i < 3; i++ {
		dst = appendNextString(dst, r, 5, '_')
		dst = append(dst, '/')
	}
	return append(dst, "item.htm?query=1"...)
}

// nextPrice is log-uniform over [100, 100,000,000] cents: round(10^(6u)*100).
func nextPrice(r *javaRandom) int64 {
	return int64(math.Floor(math.Pow(10, r.nextDouble()*6)*100 + 0.5))
}

// appendNextString appends a random string of 3 to maxLength-1 lowercase
// letters, about one in 13 of them replaced by special, then trimmed of
// leading and trailing spaces as Java's String.trim does.
func appendNextString(dst []byte, r *javaRandom, maxLength int32, special byte) []byte {
	const minLength = 3
	n := minLength + r.intn(maxLength-minLength)
	start := len(dst)
	for ; n > 0; n-- {
		if r.intn(13) == 0 {
			dst = append(dst, special)
		} else {
			dst = append(dst, byte('a'+r.intn(26)))
		}
	}
	s := dst[start:]
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	copy(s, s[i:j])
	return dst[:start+j-i]
}

// appendExtra appends padding such that currentSize plus its length
// averages desiredAverage: a uniform length within ±20% of the gap.
func appendExtra(dst []byte, r *javaRandom, currentSize, desiredAverage int) []byte {
	if currentSize > desiredAverage {
		return dst
	}
	gap := int32(desiredAverage - currentSize)
	delta := int32(math.Floor(float64(gap)*0.2 + 0.5))
	n := gap - delta
	if delta != 0 {
		n += r.intn(2 * delta)
	}
	// Six letters per random int, from its signed base-26 digits, so a
	// negative int gives characters below 'a', as in the standard
	// generator.
	var rnd int32
	left := 0
	for ; n > 0; n-- {
		if left == 0 {
			rnd, left = r.nextInt(), 6
		}
		dst = append(dst, byte('a'+rnd%26))
		rnd /= 26
		left--
	}
	return dst
}

// appendDigits4 appends x (0 <= x < 10000) as four digits, like %04d.
func appendDigits4(dst []byte, x int32) []byte {
	return append(dst, byte('0'+x/1000), byte('0'+x/100%10), byte('0'+x/10%10), byte('0'+x%10))
}
