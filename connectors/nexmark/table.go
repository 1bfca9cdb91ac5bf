package nexmark

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-sql/sluice/sql/types"
)

// Table names one of the three Nexmark tables.
type Table uint8

// The tables, in the order their events come within a proportion cycle.
const (
	TablePerson Table = iota
	TableAuction
	TableBid
)

func (t Table) String() string {
	switch t {
	case TablePerson:
		return "person"
	case TableAuction:
		return "auction"
	case TableBid:
		return "bid"
	}
	return fmt.Sprintf("Table(%d)", t)
}

// ErrUnknownTable is returned by ParseTable for a name that is not
// person, auction or bid.
var ErrUnknownTable = errors.New("nexmark: unknown table")

// ParseTable returns the table named s ('person', 'auction' or 'bid',
// case-insensitive), the value of the 'nexmark.table' option.
func ParseTable(s string) (Table, error) {
	switch strings.ToLower(s) {
	case "person":
		return TablePerson, nil
	case "auction":
		return TableAuction, nil
	case "bid":
		return TableBid, nil
	}
	return 0, fmt.Errorf("%w %q (want person, auction or bid)", ErrUnknownTable, s)
}

// Schema returns the table's columns as Flink's nexmark connector declares
// them. Each call returns a new slice, so callers may keep or change it.
func (t Table) Schema() types.Schema {
	ts := types.Timestamp(3)
	switch t {
	case TablePerson:
		return types.Schema{
			{Name: "id", Type: types.BigInt()},
			{Name: "name", Type: types.String()},
			{Name: "emailAddress", Type: types.String()},
			{Name: "creditCard", Type: types.String()},
			{Name: "city", Type: types.String()},
			{Name: "state", Type: types.String()},
			{Name: "date_time", Type: ts},
			{Name: "extra", Type: types.String()},
		}
	case TableAuction:
		return types.Schema{
			{Name: "id", Type: types.BigInt()},
			{Name: "itemName", Type: types.String()},
			{Name: "description", Type: types.String()},
			{Name: "initialBid", Type: types.BigInt()},
			{Name: "reserve", Type: types.BigInt()},
			{Name: "date_time", Type: ts},
			{Name: "expires", Type: ts},
			{Name: "seller", Type: types.BigInt()},
			{Name: "category", Type: types.BigInt()},
			{Name: "extra", Type: types.String()},
		}
	case TableBid:
		return types.Schema{
			{Name: "auction", Type: types.BigInt()},
			{Name: "bidder", Type: types.BigInt()},
			{Name: "price", Type: types.BigInt()},
			{Name: "channel", Type: types.String()},
			{Name: "url", Type: types.String()},
			{Name: "date_time", Type: ts},
			{Name: "extra", Type: types.String()},
		}
	}
	panic(fmt.Sprintf("nexmark: schema of %v", t))
}

// Column positions, in the order of Schema.
const (
	personID = iota
	personName
	personEmail
	personCreditCard
	personCity
	personState
	personDateTime
	personExtra
)

const (
	auctionID = iota
	auctionItemName
	auctionDescription
	auctionInitialBid
	auctionReserve
	auctionDateTime
	auctionExpires
	auctionSeller
	auctionCategory
	auctionExtra
)

const (
	bidAuction = iota
	bidBidder
	bidPrice
	bidChannel
	bidURL
	bidDateTime
	bidExtra
)
