package crawl

import "container/heap"

// A Scheduler queues requests by priority, higher first and equal ones in
// the order they came, and drops a request whose fingerprint it has seen
// unless the request says DontFilter (Scrapy's Scheduler with its
// RFPDupeFilter). It belongs to one engine's loop.
type Scheduler struct {
	queue requestHeap
	seen  map[string]struct{}
	seq   uint64
}

// NewScheduler returns an empty scheduler.
func NewScheduler() *Scheduler {
	return &Scheduler{seen: make(map[string]struct{})}
}

// Enqueue adds r, or reports false if it is a duplicate.
func (s *Scheduler) Enqueue(r *Request) bool {
	fp := Fingerprint(r)
	if _, dup := s.seen[fp]; dup && !r.DontFilter {
		return false
	}
	s.seen[fp] = struct{}{}
	s.seq++
	heap.Push(&s.queue, queued{r, s.seq})
	return true
}

// Next removes and returns the request to fetch next, or nil.
func (s *Scheduler) Next() *Request {
	if len(s.queue) == 0 {
		return nil
	}
	return heap.Pop(&s.queue).(queued).r
}

// Len returns the number of queued requests.
func (s *Scheduler) Len() int { return len(s.queue) }

// Seen returns the number of distinct fingerprints seen.
func (s *Scheduler) Seen() int { return len(s.seen) }

type queued struct {
	r   *Request
	seq uint64
}

type requestHeap []queued

func (h requestHeap) Len() int { return len(h) }
func (h requestHeap) Less(i, j int) bool {
	if h[i].r.Priority != h[j].r.Priority {
		return h[i].r.Priority > h[j].r.Priority
	}
	return h[i].seq < h[j].seq
}
func (h requestHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *requestHeap) Push(x any)   { *h = append(*h, x.(queued)) }
func (h *requestHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = queued{}
	*h = old[:len(old)-1]
	return x
}
