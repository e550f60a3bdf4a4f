package observer

// ring is a bounded FIFO of events: adding to a full ring evicts the
// oldest. It is bounded by count and, optionally, by the events' encoded
// bytes. It is not safe for concurrent use; Observer guards it.
type ring struct {
	buf      []Event
	head     int // index of the oldest event
	n        int
	bytes    int64
	maxBytes int64 // 0 = unbounded
}

func newRing(capacity int, maxBytes int64) *ring {
	return &ring{buf: make([]Event, capacity), maxBytes: maxBytes}
}

// add appends ev and returns how many events were evicted to make room.
// The newest event is always kept, even if it alone exceeds maxBytes.
func (r *ring) add(ev Event) int {
	evicted := 0
	if r.n == len(r.buf) {
		r.pop()
		evicted++
	}
	r.buf[(r.head+r.n)%len(r.buf)] = ev
	r.n++
	r.bytes += int64(ev.size)
	for r.maxBytes > 0 && r.bytes > r.maxBytes && r.n > 1 {
		r.pop()
		evicted++
	}
	return evicted
}

func (r *ring) pop() {
	old := &r.buf[r.head]
	r.bytes -= int64(old.size)
	*old = Event{} // release Fields for the GC
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

// len is the number of events held.
func (r *ring) len() int { return r.n }

// at returns the i-th oldest event (0 = oldest).
func (r *ring) at(i int) *Event { return &r.buf[(r.head+i)%len(r.buf)] }

// each calls fn on events from oldest to newest until fn returns false.
func (r *ring) each(fn func(*Event) bool) {
	for i := 0; i < r.n; i++ {
		if !fn(r.at(i)) {
			return
		}
	}
}

// eachReverse calls fn on events from newest to oldest until fn returns false.
func (r *ring) eachReverse(fn func(*Event) bool) {
	for i := r.n - 1; i >= 0; i-- {
		if !fn(r.at(i)) {
			return
		}
	}
}
