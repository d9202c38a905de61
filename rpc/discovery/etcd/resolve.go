package etcd

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultMaxInstances is how many instances of one service a client keeps
// track of; keys beyond it are ignored (and logged).
const DefaultMaxInstances = 1024

// DefaultMaxValueSize is the largest registration value, in bytes, that a
// client decodes; larger ones are ignored (and logged).
const DefaultMaxValueSize = 64 << 10

// resolver keeps a service's instances up to date: it lists the prefix,
// watches it from the list's revision, and on a compacted revision or a
// broken watch lists and watches again, so that it is never blind.
type resolver struct {
	cli          *clientv3.Client
	prefix       string
	maxInstances int
	maxValue     int
	logger       *slog.Logger
	// update is told the full set of instances after each change, by key.
	update func(map[string]Instance)
}

// run resolves until ctx is done.
func (r *resolver) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		set, rev, err := r.list(ctx)
		if err != nil {
			r.logger.Warn("etcd list failed; retrying", "prefix", r.prefix, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
		r.update(copySet(set))
		r.watch(ctx, set, rev)
	}
}

func (r *resolver) list(ctx context.Context) (map[string]Instance, int64, error) {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := r.cli.Get(lctx, r.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, err
	}
	set := make(map[string]Instance, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		r.add(set, kv)
	}
	return set, resp.Header.Revision, nil
}

// watch applies the changes after rev until the watch breaks or is
// compacted, or ctx is done.
func (r *resolver) watch(ctx context.Context, set map[string]Instance, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range r.cli.Watch(wctx, r.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if resp.CompactRevision != 0 {
			r.logger.Info("etcd watch compacted; listing again", "prefix", r.prefix, "revision", resp.CompactRevision)
			return
		}
		if err := resp.Err(); err != nil {
			r.logger.Warn("etcd watch broken; listing again", "prefix", r.prefix, "err", err)
			return
		}
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				delete(set, string(ev.Kv.Key))
			} else {
				r.add(set, ev.Kv)
			}
		}
		if len(resp.Events) > 0 {
			r.update(copySet(set))
		}
	}
}

// add decodes one key's value into set, ignoring (with a log) what does not
// fit the limits or does not decode.
func (r *resolver) add(set map[string]Instance, kv *mvccpb.KeyValue) {
	key := string(kv.Key)
	name := strings.TrimPrefix(key, r.prefix)
	if name == "" || strings.Contains(name, "/") {
		return // a key of a nested service, not an instance of this one
	}
	if len(kv.Value) > r.maxValue {
		r.logger.Warn("etcd registration too large; ignored", "key", truncate(key), "size", len(kv.Value), "limit", r.maxValue)
		return
	}
	if _, ok := set[key]; !ok && len(set) >= r.maxInstances {
		r.logger.Warn("too many instances; ignored", "key", truncate(key), "limit", r.maxInstances)
		return
	}
	var in Instance
	if err := json.Unmarshal(kv.Value, &in); err != nil || in.Address == "" {
		r.logger.Warn("etcd registration not understood; ignored", "key", truncate(key))
		delete(set, key)
		return
	}
	set[key] = in
}

// truncate shortens a peer's key for a log line.
func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func copySet(s map[string]Instance) map[string]Instance {
	c := make(map[string]Instance, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}
