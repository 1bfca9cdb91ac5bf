package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A transaction marker is a control batch, as Kafka writes it: attributes
// control and transactional, the producer id and epoch of the transaction
// it ends, base sequence -1, and one record whose key is a
// ControlRecordKey (version 0, type 0 abort or 1 commit) and whose value
// is an EndTxnMarker (version 0, coordinator epoch). Only the broker writes
// control batches: appends from producers that carry the control bit are
// refused.

// markerBatch builds the control batch that commits or aborts the
// transaction of producer id at epoch, timestamped ts.
func markerBatch(id ProducerID, epoch Epoch, commit bool, ts int64) []byte {
	k := kmsg.NewControlRecordKey()
	k.Type = kmsg.ControlRecordKeyTypeAbort
	if commit {
		k.Type = kmsg.ControlRecordKeyTypeCommit
	}
	v := kmsg.NewEndTxnMarker()
	var bb BatchBuilder
	bb.Reset()
	bb.SetAttributes(attrControl | attrTransactional)
	bb.SetProducer(int64(id), int16(epoch), -1)
	bb.Add(&Record{Timestamp: ts, Key: k.AppendTo(nil), Value: v.AppendTo(nil)})
	return append([]byte(nil), bb.Build()...)
}

// markerKind decodes the control batch b: whether it is a transaction
// marker at all (other control types exist in Kafka), and if so whether it
// commits.
func markerKind(b []byte) (marker, commit bool, err error) {
	var it RecordIter
	if err := it.Reset(b); err != nil {
		return false, false, err
	}
	var r Record
	if !it.Next(&r) {
		if err := it.Err(); err != nil {
			return false, false, err
		}
		return false, false, nil // emptied by compaction, or a bare control batch
	}
	var k kmsg.ControlRecordKey
	if err := k.ReadFrom(r.Key); err != nil {
		return false, false, fmt.Errorf("%w: control record key: %v", ErrCorruptBatch, err)
	}
	switch k.Type {
	case kmsg.ControlRecordKeyTypeCommit:
		return true, true, nil
	case kmsg.ControlRecordKeyTypeAbort:
		return true, false, nil
	}
	return false, false, nil
}
