package broker

import (
	"context"
	"errors"
	"time"
)

// maintain runs retention and compaction every MaintenanceInterval until
// the broker closes.
func (b *Broker) maintain() {
	defer close(b.maintDone)
	t := time.NewTicker(b.opts.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-b.maintStop:
			return
		case <-t.C:
		}
		if err := b.EnforceRetention(); err != nil {
			b.opts.Logger.Warn("retention", "err", err)
		}
		if _, err := b.compact(false); err != nil {
			b.opts.Logger.Warn("compaction", "err", err)
		}
		if _, err := b.AbortExpiredTransactions(context.Background()); err != nil {
			b.opts.Logger.Warn("aborting expired transactions", "err", err)
		}
	}
}

func (b *Broker) partitions() []*partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var ps []*partition
	for _, t := range b.mu.topics {
		ps = append(ps, t.parts...)
	}
	return ps
}

// EnforceRetention deletes, in every partition of every topic whose
// cleanup.policy includes delete, the oldest whole segments whose newest
// record is older than retention.ms, and then those beyond
// retention.bytes. An active segment that has expired is rolled so a
// later pass can delete it.
func (b *Broker) EnforceRetention() error {
	var errs []error
	now := b.opts.Clock.Now()
	for _, p := range b.partitions() {
		if _, err := p.enforceRetention(now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sealedPrefix returns how many segments from the start are retired: not
// active and done with by the syncer, so maintenance may replace or
// remove them.
func sealedPrefix(segs []*segment) int {
	n := 0
	for _, s := range segs[:len(segs)-1] {
		if !s.retired.Load() {
			break
		}
		n++
	}
	return n
}

// enforceRetention returns the number of segments deleted.
func (p *partition) enforceRetention(now time.Time) (int, error) {
	cfg := p.config()
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	if p.isClosed() {
		return 0, nil
	}
	p.flush()
	p.retrySeals()
	if !cfg.Delete() {
		return 0, nil
	}
	segs := *p.segs.Load()
	cutoff := now.UnixMilli() - cfg.RetentionMs
	if cfg.RetentionMs >= 0 && sealedPrefix(segs) == len(segs)-1 {
		// Everything sealed has expired or there is nothing sealed; if the
		// active segment has expired too, roll it so it can go.
		act := segs[len(segs)-1]
		expired := true
		for _, s := range segs {
			expired = expired && s.maxTimestamp() < cutoff
		}
		if expired && act.readable.Load() > 0 {
			p.mu.Lock()
			err := p.appendable()
			if err == nil && p.mu.active == act {
				err = p.roll(now)
			}
			p.mu.Unlock()
			if err != nil {
				return 0, err
			}
			p.flush()
			segs = *p.segs.Load()
		}
	}
	sealed := sealedPrefix(segs)
	drop := 0
	if cfg.RetentionMs >= 0 {
		for drop < sealed && segs[drop].maxTimestamp() < cutoff {
			drop++
		}
	}
	if cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range segs[drop:] {
			total += s.readable.Load()
		}
		for drop < sealed && total-segs[drop].readable.Load() >= cfg.RetentionBytes {
			total -= segs[drop].readable.Load()
			drop++
		}
	}
	// Never remove a segment reaching the last stable offset: an open
	// transaction's first records would go, and with them what its
	// outcome applies to.
	for lso := p.lso.Load(); drop > 0 && segs[drop-1].next > lso; drop-- {
	}
	if drop == 0 {
		return 0, nil
	}
	return drop, p.removeSegments(segs[:drop])
}

// retrySeals writes the index files of retired segments whose seal failed
// (a full disk, say), so the next open need not scan them. Called with
// maintMu held.
func (p *partition) retrySeals() {
	segs := *p.segs.Load()
	for _, s := range segs[:sealedPrefix(segs)] {
		s.idxMu.RLock()
		unsealed := s.mem != nil
		s.idxMu.RUnlock()
		if unsealed {
			if err := s.seal(); err != nil {
				p.b.opts.Logger.Warn("writing segment index failed again", "segment", s.name, "err", err)
			}
		}
	}
}

// removeSegments takes the given leading segments out of the list and
// deletes their files, oldest first, so a crash leaves a consistent
// prefix removed. Readers still holding one finish on the unlinked file.
func (p *partition) removeSegments(gone []*segment) error {
	p.mu.Lock()
	cur := *p.segs.Load()
	segs := append([]*segment(nil), cur[len(gone):]...)
	p.segs.Store(&segs)
	p.aborted.Store(p.aborted.Load().since(segs[0].base))
	p.mu.Unlock()
	var errs []error
	for _, s := range gone {
		if err := s.remove(); err != nil {
			errs = append(errs, err)
		}
		s.release()
	}
	return errors.Join(errs...)
}
