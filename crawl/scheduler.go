package crawl

import (
	"container/heap"
	"slices"
)

// A Scheduler queues requests by priority, higher first and equal ones in
// the order they came, and drops a request whose fingerprint it has seen
// unless the request says DontFilter (Scrapy's Scheduler with its
// RFPDupeFilter). It belongs to one engine's loop.
//
// An engine with a job directory (Settings.JobDir) gives its scheduler a
// store there: then the seen-set and the queue live on disk, and the
// scheduler holds only a window of the queue's first requests in memory,
// so that its memory does not grow with the crawl.
type Scheduler struct {
	queue requestHeap
	seen  map[[16]byte]struct{}
	seq   uint64

	job    *jobStore
	commit func() error        // commits the job's batch (the engine's, with its stats)
	full   bool                // with a job: queue holds every stored request not taken
	last   queued              // with a job and not full: queue holds every stored request up to this one (none before the first load)
	taken  map[string]struct{} // with a job: keys of the requests taken and not finished
	n      int                 // with a job: the requests stored and not taken
}

// NewScheduler returns an empty scheduler.
func NewScheduler() *Scheduler {
	return &Scheduler{seen: make(map[[16]byte]struct{})}
}

// newJobScheduler returns a scheduler on job, resuming its queue.
func newJobScheduler(job *jobStore, commit func() error) *Scheduler {
	return &Scheduler{job: job, commit: commit, full: job.queued == 0, taken: map[string]struct{}{}, n: job.queued}
}

// Enqueue adds r, or reports false if it is a duplicate (or, with a job
// directory, cannot be stored).
func (s *Scheduler) Enqueue(r *Request) bool {
	ok, _ := s.add(r)
	return ok
}

// add adds r and reports whether it did; err is ErrNotPersistable for a
// request the job directory cannot store.
func (s *Scheduler) add(r *Request) (bool, error) {
	fp := fingerprint(r)
	if s.job == nil {
		if _, dup := s.seen[fp]; dup && !r.DontFilter {
			return false, nil
		}
		s.seen[fp] = struct{}{}
		s.seq++
		heap.Push(&s.queue, queued{r, s.seq})
		return true, nil
	}
	dup := s.job.hasSeen(fp)
	if dup && !r.DontFilter {
		return false, nil
	}
	val, err := encodeRequest(r)
	if err != nil {
		return false, err
	}
	if !dup {
		s.job.see(fp)
	}
	s.job.add(r, val)
	s.n++
	q := queued{r, keySeq(r.key)}
	if s.full || (s.last.r != nil && q.before(s.last)) {
		heap.Push(&s.queue, q)
		if len(s.queue) > 2*jobWindow {
			s.trim()
		}
	}
	return true, nil
}

// trim keeps the first jobWindow requests of the window; the others wait
// on disk.
func (s *Scheduler) trim() {
	slices.SortFunc(s.queue, func(a, b queued) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	clear(s.queue[jobWindow:])
	s.queue = s.queue[:jobWindow] // sorted, so still a heap
	s.last = s.queue[jobWindow-1]
	s.full = false
}

// refill loads the window from disk.
func (s *Scheduler) refill() {
	if s.commit() != nil {
		return
	}
	rs, more, err := s.job.load(jobWindow, s.taken)
	if err != nil {
		s.job.fail(err)
		return
	}
	for _, r := range rs {
		s.queue = append(s.queue, queued{r, keySeq(r.key)}) // in order: a heap
	}
	s.full = !more
	if more {
		s.last = s.queue[len(s.queue)-1]
	}
}

// Next removes and returns the request to fetch next, or nil.
func (s *Scheduler) Next() *Request {
	if s.job != nil && len(s.queue) == 0 && !s.full {
		s.refill()
	}
	if len(s.queue) == 0 {
		return nil
	}
	r := heap.Pop(&s.queue).(queued).r
	if s.job != nil {
		s.taken[string(r.key)] = struct{}{}
		s.n--
	}
	return r
}

// done records that r, taken with Next, is finished: with a job directory,
// it leaves the stored queue.
func (s *Scheduler) done(r *Request) {
	if s.job == nil || r.key == nil {
		return
	}
	delete(s.taken, string(r.key))
	s.job.done(r.key)
}

// Len returns the number of queued requests.
func (s *Scheduler) Len() int {
	if s.job != nil {
		return s.n
	}
	return len(s.queue)
}

// Seen returns the number of distinct fingerprints seen.
func (s *Scheduler) Seen() int {
	if s.job != nil {
		return int(s.job.seen) + len(s.job.newSeen)
	}
	return len(s.seen)
}

type queued struct {
	r   *Request
	seq uint64
}

// before orders the queue: higher priority first, then first come.
func (q queued) before(o queued) bool {
	if q.r.Priority != o.r.Priority {
		return q.r.Priority > o.r.Priority
	}
	return q.seq < o.seq
}

type requestHeap []queued

func (h requestHeap) Len() int           { return len(h) }
func (h requestHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h requestHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *requestHeap) Push(x any)        { *h = append(*h, x.(queued)) }
func (h *requestHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = queued{}
	*h = old[:len(old)-1]
	return x
}
