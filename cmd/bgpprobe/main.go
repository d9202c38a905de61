// Command bgpprobe poses as a router: it keeps BGP sessions with the routers
// of a configuration file on one Twist loop, announces the configured
// routes, and records every state change, with its time and the sessions'
// route counts, in a SQLite database.
//
// Usage:
//
//	bgpprobe [run] -config probe.json [-db bgpprobe.db] [-listen ADDR] [-status ADDR [-status-auth TOKEN]] [-v]
//	bgpprobe status [-db bgpprobe.db]
//
// The configuration is JSON:
//
//	{
//	  "router_id": "10.0.0.1", "local_as": 65000, "listen": "127.0.0.1:1790",
//	  "peers": [
//	    {"address": "127.0.0.2", "port": 1791, "remote_as": 65001, "hold_time": 9,
//	     "connect_retry": 5, "idle_hold": 1, "local_address": "127.0.0.1"},
//	    {"address": "127.0.0.3", "remote_as": 65002, "passive": true}
//	  ],
//	  "routes": [{"prefixes": ["198.51.100.0/24"], "med": 10, "communities": ["65000:1"]}]
//	}
//
// Per peer: address, port (179), local_address, remote_as, local_as and
// router_id (default: the top-level ones), hold_time (90), connect_retry
// (120), idle_hold (5) and delay_open (0) in seconds, passive, next_hop6,
// max_prefixes. A peer's NOTIFICATIONs are logged in words and stored.
package main

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/twistgo/twist/reactor"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bgpprobe:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "status") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("bgpprobe "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "bgpprobe.db", "the SQLite database of the sessions")
	if cmd == "status" {
		if err := fs.Parse(args); err != nil {
			return err
		}
		return status(*db, stdout, time.Now())
	}
	config := fs.String("config", "", "the configuration file (JSON)")
	listen := fs.String("listen", "", "accept BGP connections on this address (overrides the file's)")
	statusAddr := fs.String("status", "", "serve the sessions on a web page at this address, and Twist's status page and /metrics below /twist/")
	statusAuth := fs.String("status-auth", "", "ask this token of the status pages' clients (Authorization: Bearer TOKEN, or ?token=TOKEN)")
	verbose := fs.Bool("v", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("-config is required")
	}
	cfg, err := LoadConfig(*config)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	loop, err := reactor.New(reactor.WithSignalHandling(), reactor.WithLogger(log))
	if err != nil {
		return err
	}
	defer loop.Close()
	store, err := OpenStore(*db, loop, log)
	if err != nil {
		return err
	}
	defer store.Close()
	probe, err := NewProbe(loop, cfg, store, log)
	if err != nil {
		return err
	}
	var startErr error
	loop.CallWhenRunning(func() {
		if startErr = probe.Start(); startErr == nil && *statusAddr != "" {
			startErr = probe.ServeStatus(*statusAddr, *statusAuth)
		}
		if startErr != nil {
			loop.Stop()
		}
	})
	loop.AddSystemEventTrigger(reactor.Before, "shutdown", probe.Stop)
	if err := loop.Run(); err != nil {
		return err
	}
	return startErr
}

// status prints the sessions of the database.
func status(path string, w io.Writer, now time.Time) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	sessions, err := ReadSessions(db)
	if err != nil {
		return err
	}
	return writeSessions(w, sessions, now)
}

// writeSessions prints sessions as a table.
func writeSessions(w io.Writer, sessions []Session, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tAS\tSTATE\tFOR\tESTABLISHED\tRECEIVED\tSENT\tLAST ERROR")
	for _, s := range sessions {
		est := "never"
		if !s.EstablishedAt.IsZero() {
			est = s.EstablishedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\n", s.Peer, s.RemoteAS, s.State,
			now.Sub(s.StateSince).Truncate(time.Second), est, s.Received, s.Sent, s.LastError)
	}
	return tw.Flush()
}
