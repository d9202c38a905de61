package main

import (
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/threads"
	_ "modernc.org/sqlite"
)

const schema = `
CREATE TABLE IF NOT EXISTS sessions (
	peer TEXT PRIMARY KEY,
	remote_as INTEGER NOT NULL,
	state TEXT NOT NULL,
	state_since INTEGER NOT NULL,   -- unix nanoseconds
	established_at INTEGER,         -- unix nanoseconds, NULL if never
	prefixes_received INTEGER NOT NULL DEFAULT 0,
	prefixes_sent INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transitions (
	id INTEGER PRIMARY KEY,
	peer TEXT NOT NULL,
	at INTEGER NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	event TEXT NOT NULL,
	error TEXT NOT NULL,
	prefixes_received INTEGER NOT NULL,
	prefixes_sent INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
	id INTEGER PRIMARY KEY,
	peer TEXT NOT NULL,
	at INTEGER NOT NULL,
	direction TEXT NOT NULL,
	code INTEGER NOT NULL,
	subcode INTEGER NOT NULL,
	text TEXT NOT NULL
);`

// Store keeps the sessions in SQLite. Its writes run on a pool of one
// worker, through DeferToThreadPool, so the loop never waits for the database
// and the writes keep the order the loop made them in.
type Store struct {
	db   *sql.DB
	pool *threads.Pool
	loop threads.Loop
	log  *slog.Logger
}

// OpenStore opens (creating if needed) the database at path. It blocks: call
// it before the loop runs, or on a thread.
func OpenStore(path string, loop threads.Loop, log *slog.Logger) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{db: db, pool: threads.NewPool(0, 1), loop: loop, log: log}, nil
}

// exec runs a statement on the store's worker; a failure is logged.
func (s *Store) exec(query string, args ...any) *deferred.Deferred {
	d := threads.DeferToThreadPool(s.loop, s.pool, func() (any, error) {
		_, err := s.db.Exec(query, args...)
		return nil, err
	})
	return d.AddErrback(func(f *deferred.Failure) (any, error) {
		s.log.Error("bgpprobe: database write failed", "error", f.Value())
		return nil, nil
	})
}

// Transition is a state change of a session, for the database.
type Transition struct {
	Peer            string
	RemoteAS        uint32
	At              time.Time
	From, To, Event string
	Error           string
	Received, Sent  int
	EstablishedAt   time.Time
}

// RecordTransition stores a state change and the session's new state.
func (s *Store) RecordTransition(t Transition) *deferred.Deferred {
	var est any
	if !t.EstablishedAt.IsZero() {
		est = t.EstablishedAt.UnixNano()
	}
	s.exec(`INSERT INTO transitions (peer, at, from_state, to_state, event, error, prefixes_received, prefixes_sent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Peer, t.At.UnixNano(), t.From, t.To, t.Event, t.Error, t.Received, t.Sent)
	return s.exec(`INSERT INTO sessions (peer, remote_as, state, state_since, established_at, prefixes_received, prefixes_sent, last_error, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(peer) DO UPDATE SET remote_as = excluded.remote_as, state = excluded.state,
			state_since = excluded.state_since, established_at = COALESCE(excluded.established_at, established_at),
			prefixes_received = excluded.prefixes_received, prefixes_sent = excluded.prefixes_sent,
			last_error = CASE WHEN excluded.last_error = '' THEN last_error ELSE excluded.last_error END,
			updated_at = excluded.updated_at`,
		t.Peer, t.RemoteAS, t.To, t.At.UnixNano(), est, t.Received, t.Sent, t.Error, t.At.UnixNano())
}

// RecordCounts stores a session's route counts.
func (s *Store) RecordCounts(peer string, at time.Time, received, sent int) *deferred.Deferred {
	return s.exec(`UPDATE sessions SET prefixes_received = ?, prefixes_sent = ?, updated_at = ? WHERE peer = ?`,
		received, sent, at.UnixNano(), peer)
}

// RecordNotification stores a NOTIFICATION sent or received.
func (s *Store) RecordNotification(peer string, at time.Time, received bool, code, subcode uint8, text string) *deferred.Deferred {
	dir := "sent"
	if received {
		dir = "received"
	}
	return s.exec(`INSERT INTO notifications (peer, at, direction, code, subcode, text) VALUES (?, ?, ?, ?, ?, ?)`,
		peer, at.UnixNano(), dir, code, subcode, text)
}

// Session is a row of the sessions table.
type Session struct {
	Peer           string
	RemoteAS       uint32
	State          string
	StateSince     time.Time
	EstablishedAt  time.Time // zero if never
	Received, Sent int
	LastError      string
	UpdatedAt      time.Time
}

// Sessions reads the sessions. It blocks.
func (s *Store) Sessions() ([]Session, error) {
	return ReadSessions(s.db)
}

// ReadSessions reads the sessions table of db.
func ReadSessions(db *sql.DB) ([]Session, error) {
	rows, err := db.Query(`SELECT peer, remote_as, state, state_since, established_at, prefixes_received,
		prefixes_sent, last_error, updated_at FROM sessions ORDER BY peer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ss Session
		var since, updated int64
		var est sql.NullInt64
		if err := rows.Scan(&ss.Peer, &ss.RemoteAS, &ss.State, &since, &est, &ss.Received, &ss.Sent,
			&ss.LastError, &updated); err != nil {
			return nil, err
		}
		ss.StateSince, ss.UpdatedAt = time.Unix(0, since), time.Unix(0, updated)
		if est.Valid {
			ss.EstablishedAt = time.Unix(0, est.Int64)
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// Notifications reads the NOTIFICATIONs of a peer, oldest first, as
// "direction text". It blocks.
func (s *Store) Notifications(peer string) ([]string, error) {
	rows, err := s.db.Query(`SELECT direction, text FROM notifications WHERE peer = ? ORDER BY id`, peer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dir, text string
		if err := rows.Scan(&dir, &text); err != nil {
			return nil, err
		}
		out = append(out, dir+" "+text)
	}
	return out, rows.Err()
}

// Close waits for the queued writes, then closes the database. It blocks.
func (s *Store) Close() error {
	s.pool.Stop()
	return s.db.Close()
}
