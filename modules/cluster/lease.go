// Package cluster is how several lakehouse nodes share one bucket. Its
// first piece is the writer lease: one object in the bucket, created and
// renewed only by conditional PUTs (storage.Conditional), holding the
// holder's id and advertised URL, an expiry and an epoch that grows on
// every takeover. At most one node holds an unexpired lease; a node that
// cannot renew (partitioned, paused past the TTL) learns it lost the
// lease at its next renewal and must stop writing, and the epoch lets
// every commit point refuse a write made under an older one.
//
// Expiry is written in the holder's clock and read in the reader's: the
// TTL must exceed the clock skew between nodes.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"lakehouse/modules/storage"
)

// LeaseKey is where the writer lease lives in the bucket.
const LeaseKey = "_cluster/lease.json"

// Record is the lease as stored.
type Record struct {
	Holder  string    `json:"holder"`  // the holding process's id
	URL     string    `json:"url"`     // where the holder takes writes
	Epoch   uint64    `json:"epoch"`   // grows on every takeover
	Expires time.Time `json:"expires"` // in the holder's clock
	Renewed time.Time `json:"renewed"`
}

// Store is what a lease needs of the bucket.
type Store interface {
	storage.Store
	storage.Conditional
}

// HeldError is Acquire's answer while another node holds a live lease.
type HeldError struct{ Record Record }

func (e *HeldError) Error() string {
	return fmt.Sprintf("cluster: the writer lease is held by %s (%s), epoch %d, until %s",
		e.Record.Holder, e.Record.URL, e.Record.Epoch, e.Record.Expires.Format(time.RFC3339Nano))
}

// ErrLost is Renew's answer once another node has taken the lease over:
// the caller must stop making writes visible at once.
var ErrLost = errors.New("cluster: the writer lease was taken over by another node")

// Lease is one process's handle on the writer lease.
type Lease struct {
	store  Store
	holder string
	url    string
	ttl    time.Duration
	now    func() time.Time

	mu   sync.Mutex
	rec  Record // the record this process last wrote
	etag string // its ETag: the compare in the next renewal's swap
	held bool
}

// NewLease is a handle for a process advertising url, holding the lease
// for ttl per acquisition or renewal. Each handle has an id of its own,
// so a restarted node never mistakes its predecessor's lease for its own.
func NewLease(store Store, url string, ttl time.Duration) *Lease {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Lease{store: store, holder: hex.EncodeToString(b), url: url, ttl: ttl, now: time.Now}
}

// Holder is this handle's id, as the record names it.
func (l *Lease) Holder() string { return l.holder }

// Held returns the record this process holds, and whether it still holds
// it (as far as it knows: an expired lease may be taken any moment).
func (l *Lease) Held() (Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec, l.held && l.now().Before(l.rec.Expires)
}

// Read returns the stored record and its ETag; found is false when no
// node ever took the lease.
func (l *Lease) Read(ctx context.Context) (rec Record, etag string, found bool, err error) {
	rc, info, err := l.store.Get(ctx, LeaseKey)
	if errors.Is(err, storage.ErrNotFound) {
		return Record{}, "", false, nil
	}
	if err != nil {
		return Record{}, "", false, fmt.Errorf("cluster: read lease: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return Record{}, "", false, fmt.Errorf("cluster: read lease: %w", err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, "", false, fmt.Errorf("cluster: lease %s is not a lease record: %w", LeaseKey, err)
	}
	return rec, info.ETag, true, nil
}

// Acquire takes the lease when no node ever held it, when it expired
// (epoch + 1), or renews it when this process holds it. While another
// node holds it live, it returns a *HeldError naming the holder. Of nodes
// racing for a free lease, exactly one wins (a conditional PUT); the
// others get the winner in a *HeldError.
func (l *Lease) Acquire(ctx context.Context) (Record, error) {
	if _, held := l.Held(); held {
		return l.Renew(ctx)
	}
	cur, etag, found, err := l.Read(ctx)
	if err != nil {
		return Record{}, err
	}
	now := l.now()
	if found && now.Before(cur.Expires) && cur.Holder != l.holder {
		return Record{}, &HeldError{Record: cur}
	}
	next := Record{Holder: l.holder, URL: l.url, Epoch: cur.Epoch + 1, Expires: now.Add(l.ttl), Renewed: now}
	data, _ := json.Marshal(next)
	var info storage.ObjectInfo
	if found {
		info, err = l.store.PutIfMatch(ctx, LeaseKey, bytes.NewReader(data), int64(len(data)), etag)
	} else {
		info, err = l.store.PutIfAbsent(ctx, LeaseKey, bytes.NewReader(data), int64(len(data)))
	}
	if errors.Is(err, storage.ErrPreconditionFailed) {
		// Another node won the race: say who.
		if won, _, ok, rerr := l.Read(ctx); rerr == nil && ok {
			return Record{}, &HeldError{Record: won}
		}
		return Record{}, &HeldError{}
	}
	if err != nil {
		return Record{}, fmt.Errorf("cluster: take lease: %w", err)
	}
	l.mu.Lock()
	l.rec, l.etag, l.held = next, info.ETag, true
	l.mu.Unlock()
	return next, nil
}

// Renew extends the lease this process holds by the TTL. When another
// node took it over meanwhile (the swap finds another ETag) it returns
// ErrLost and the handle no longer holds it.
func (l *Lease) Renew(ctx context.Context) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return Record{}, ErrLost
	}
	now := l.now()
	next := l.rec
	next.Expires, next.Renewed = now.Add(l.ttl), now
	data, _ := json.Marshal(next)
	info, err := l.store.PutIfMatch(ctx, LeaseKey, bytes.NewReader(data), int64(len(data)), l.etag)
	if errors.Is(err, storage.ErrPreconditionFailed) {
		l.held = false
		return Record{}, ErrLost
	}
	if err != nil {
		return Record{}, fmt.Errorf("cluster: renew lease: %w", err)
	}
	l.rec, l.etag = next, info.ETag
	return next, nil
}

// Release gives the lease up (its expiry set to now, the epoch kept), so
// a standby takes over at once instead of waiting out the TTL. Releasing
// a lease already lost is not an error.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return nil
	}
	l.held = false
	next := l.rec
	next.Expires = l.now()
	data, _ := json.Marshal(next)
	if _, err := l.store.PutIfMatch(ctx, LeaseKey, bytes.NewReader(data), int64(len(data)), l.etag); err != nil &&
		!errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("cluster: release lease: %w", err)
	}
	return nil
}
