package crawl

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/twistgo/twist/web"
)

// The job directory (Settings.JobDir) holds one bbolt database, job.db.
// bbolt is a small pure-Go B+tree store made for this (one writer, keys in
// order, crash-safe commits) and keeps the core module lean; SQLite through
// modernc.org/sqlite would pull a large dependency into every program that
// imports crawl.
//
// Buckets:
//
//	queue: key (priority, sequence) -> the request, JSON (storedRequest)
//	seen:  fingerprint (16 bytes) -> empty
//	meta:  "seq", "seen" -> uint64; "stats" -> Stats, JSON
//
// A request stays in queue until it is finished (its callback's output
// handled), not merely taken: after a kill, the requests that were in
// progress are still queued and are downloaded again by the next run.
var (
	queueBucket = []byte("queue")
	seenBucket  = []byte("seen")
	metaBucket  = []byte("meta")
	seqKey      = []byte("seq")
	seenKey     = []byte("seen")
	statsKey    = []byte("stats")
)

// jobFile is the database's name in the job directory.
const jobFile = "job.db"

// jobWindow is how many queued requests the scheduler holds in memory
// with a job directory; the rest of the queue waits on disk.
const jobWindow = 1024

// ErrNotPersistable is the error of a request that a crawl with a job
// directory cannot store: its Callback or Errback is a func with no name
// (see Request.CallbackName), or its Meta does not encode to JSON.
var ErrNotPersistable = errors.New("crawl: request cannot be stored in the job directory")

// jobStore is a crawl's state in its job directory. Writes are gathered
// in a batch and committed together (see commit); reads see the batch.
type jobStore struct {
	db      *bolt.DB
	seq     uint64 // the last sequence number given
	seen    uint64 // fingerprints stored
	queued  int    // requests in the queue bucket, taken or not
	puts    []jobPut
	dels    [][]byte
	newSeen map[[16]byte]struct{} // fingerprints in the batch
	fail    func(error)           // reports a failure of the store
}

type jobPut struct{ key, val []byte }

// openJob opens (creating it if needed) the job database in dir.
func openJob(dir string) (*jobStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// NoSync: a commit reaches the kernel (so it survives the process
	// being killed) but is not forced to the disk, as Scrapy's job files
	// are not; the freelist is rebuilt on open rather than written each
	// commit.
	db, err := bolt.Open(filepath.Join(dir, jobFile), 0o644, &bolt.Options{
		Timeout:        time.Second,
		NoSync:         true,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("crawl: job directory %s is in use by another crawl", dir)
		}
		return nil, err
	}
	j := &jobStore{db: db, newSeen: map[[16]byte]struct{}{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{queueBucket, seenBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(metaBucket)
		j.seq = getUint(meta, seqKey)
		j.seen = getUint(meta, seenKey)
		j.queued = tx.Bucket(queueBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return j, nil
}

func getUint(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// stats returns the stats the job's earlier runs stored, or nil.
func (j *jobStore) stats() (*Stats, error) {
	var st *Stats
	err := j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(statsKey)
		if v == nil {
			return nil
		}
		st = newStats()
		return json.Unmarshal(v, st)
	})
	return st, err
}

// hasSeen reports whether fp is in the seen-set.
func (j *jobStore) hasSeen(fp [16]byte) bool {
	if _, ok := j.newSeen[fp]; ok {
		return true
	}
	found := false
	_ = j.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(seenBucket).Get(fp[:]) != nil
		return nil
	})
	return found
}

// see adds fp, which hasSeen reported unseen, to the seen-set.
func (j *jobStore) see(fp [16]byte) { j.newSeen[fp] = struct{}{} }

// add stores r, encoded as val, as queued, and gives r its key.
func (j *jobStore) add(r *Request, val []byte) {
	j.seq++
	r.key = queueKey(r.Priority, j.seq)
	j.puts = append(j.puts, jobPut{r.key, val})
	j.queued++
}

// done removes a finished request from the queue.
func (j *jobStore) done(key []byte) {
	j.dels = append(j.dels, key)
	j.queued--
}

func (j *jobStore) dirty() bool { return len(j.puts) > 0 || len(j.dels) > 0 }

// commit writes the batch and st in one transaction.
func (j *jobStore) commit(st *Stats) error {
	stats, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = j.db.Update(func(tx *bolt.Tx) error {
		q, seen, meta := tx.Bucket(queueBucket), tx.Bucket(seenBucket), tx.Bucket(metaBucket)
		for _, p := range j.puts {
			if err := q.Put(p.key, p.val); err != nil {
				return err
			}
		}
		for _, k := range j.dels {
			if err := q.Delete(k); err != nil {
				return err
			}
		}
		for fp := range j.newSeen {
			if err := seen.Put(fp[:], nil); err != nil {
				return err
			}
		}
		if err := putUint(meta, seqKey, j.seq); err != nil {
			return err
		}
		if err := putUint(meta, seenKey, j.seen+uint64(len(j.newSeen))); err != nil {
			return err
		}
		return meta.Put(statsKey, stats)
	})
	if err != nil {
		return err
	}
	j.seen += uint64(len(j.newSeen))
	clear(j.puts)
	j.puts = j.puts[:0]
	j.dels = j.dels[:0]
	clear(j.newSeen)
	return nil
}

// load returns up to n queued requests in queue order, skipping those in
// skip (taken and not finished), and whether there were more. Call it
// with the batch committed.
func (j *jobStore) load(n int, skip map[string]struct{}) (out []*Request, more bool, err error) {
	err = j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(queueBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if _, taken := skip[string(k)]; taken {
				continue
			}
			if len(out) == n {
				more = true
				return nil
			}
			r, err := decodeRequest(v)
			if err != nil {
				return fmt.Errorf("crawl: job directory: queued request %x: %w", k, err)
			}
			r.key = bytes.Clone(k)
			out = append(out, r)
		}
		return nil
	})
	return out, more, err
}

func (j *jobStore) close() error { return j.db.Close() }

// queueKey orders the queue bucket as the scheduler orders requests:
// higher priority first, then by sequence.
func queueKey(priority int, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), ^(uint64(int64(priority)) ^ 1<<63))
	return binary.BigEndian.AppendUint64(k, seq)
}

// keySeq returns the sequence number of a queue key.
func keySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k[8:]) }

// storedRequest is a Request as the job directory stores it: callbacks by
// name, Meta as JSON.
type storedRequest struct {
	URL        string         `json:"u"`
	Method     string         `json:"m,omitempty"`
	Headers    [][2]string    `json:"h,omitempty"`
	Body       []byte         `json:"b,omitempty"`
	Callback   string         `json:"cb,omitempty"`
	Errback    string         `json:"eb,omitempty"`
	Priority   int            `json:"p,omitempty"`
	Meta       map[string]any `json:"meta,omitempty"`
	DontFilter bool           `json:"df,omitempty"`
	Depth      int            `json:"d,omitempty"`
	Redirects  int            `json:"r,omitempty"`
}

// encodeRequest returns r as stored, or ErrNotPersistable.
func encodeRequest(r *Request) ([]byte, error) {
	if (r.Callback != nil && r.CallbackName == "") || (r.Errback != nil && r.ErrbackName == "") {
		return nil, fmt.Errorf("%w: a callback with no name", ErrNotPersistable)
	}
	s := storedRequest{
		URL: r.URL, Method: r.Method, Body: r.Body, Callback: r.CallbackName, Errback: r.ErrbackName,
		Priority: r.Priority, Meta: r.Meta, DontFilter: r.DontFilter, Depth: r.Depth, Redirects: r.redirects,
	}
	if r.Headers != nil {
		for k, v := range r.Headers.All() {
			s.Headers = append(s.Headers, [2]string{k, v})
		}
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPersistable, err)
	}
	return b, nil
}

func decodeRequest(b []byte) (*Request, error) {
	var s storedRequest
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	r := &Request{
		URL: s.URL, Method: s.Method, Body: s.Body, CallbackName: s.Callback, ErrbackName: s.Errback,
		Priority: s.Priority, Meta: s.Meta, DontFilter: s.DontFilter, Depth: s.Depth, redirects: s.Redirects,
	}
	if len(s.Headers) > 0 {
		r.Headers = &web.Header{}
		for _, kv := range s.Headers {
			r.Headers.Add(kv[0], kv[1])
		}
	}
	return r, nil
}
