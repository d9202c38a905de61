package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The metrics' descriptions. Names follow Prometheus's rules: a twist_
// prefix, the unit as a suffix (_seconds, _bytes), _total on counters.
var (
	descLoopIterations = prometheus.NewDesc("twist_loop_iterations_total",
		"Turns of the event loop.", []string{"loop"}, nil)
	descLoopEvents = prometheus.NewDesc("twist_loop_events_total",
		"Readiness events dispatched to file descriptors.", []string{"loop"}, nil)
	descLoopPosted = prometheus.NewDesc("twist_loop_posted_calls_total",
		"Functions run on the loop from CallFromThread.", []string{"loop"}, nil)
	descLoopTimersRun = prometheus.NewDesc("twist_loop_timers_run_total",
		"Delayed calls run.", []string{"loop"}, nil)
	descLoopTimersPending = prometheus.NewDesc("twist_loop_timers_pending",
		"Delayed calls scheduled.", []string{"loop"}, nil)
	descLoopLag = prometheus.NewDesc("twist_loop_lag_seconds",
		"How late delayed calls ran: from their due time to their run.", []string{"loop"}, nil)
	descLoopBusy = prometheus.NewDesc("twist_loop_busy_seconds_total",
		"Time the loop spent outside the poller's wait (estimated); its rate is the busy fraction.", []string{"loop"}, nil)
	descLoopResponding = prometheus.NewDesc("twist_loop_responding",
		"1 if the loop handed over its counters in time, 0 if it is stuck in a callback.", []string{"loop"}, nil)

	descListenerOpen = prometheus.NewDesc("twist_listener_connections_open",
		"Connections of a listener open now.", []string{"listener"}, nil)
	descListenerAccepted = prometheus.NewDesc("twist_listener_connections_accepted_total",
		"Connections a listener accepted.", []string{"listener"}, nil)
	descListenerRefused = prometheus.NewDesc("twist_listener_connections_refused_total",
		"Connections accepted and then refused by the listener's factory (a connection cap).", []string{"listener"}, nil)
	descListenerIn = prometheus.NewDesc("twist_listener_received_bytes_total",
		"Bytes read from a listener's connections (ciphertext for TLS).", []string{"listener"}, nil)
	descListenerOut = prometheus.NewDesc("twist_listener_sent_bytes_total",
		"Bytes written to a listener's connections (ciphertext for TLS).", []string{"listener"}, nil)

	descUDPIn = prometheus.NewDesc("twist_udp_received_datagrams_total",
		"Datagrams a UDP port received and handed to its protocol.", []string{"port"}, nil)
	descUDPOut = prometheus.NewDesc("twist_udp_sent_datagrams_total",
		"Datagrams a UDP port sent.", []string{"port"}, nil)
	descUDPBytesIn = prometheus.NewDesc("twist_udp_received_bytes_total",
		"Bytes of the datagrams a UDP port received.", []string{"port"}, nil)
	descUDPBytesOut = prometheus.NewDesc("twist_udp_sent_bytes_total",
		"Bytes of the datagrams a UDP port sent.", []string{"port"}, nil)
	descUDPDropped = prometheus.NewDesc("twist_udp_dropped_datagrams_total",
		"Datagrams a UDP port dropped for being longer than its limit.", []string{"port"}, nil)
	descUDPSendErrors = prometheus.NewDesc("twist_udp_send_errors_total",
		"Datagrams a UDP port failed to send.", []string{"port"}, nil)
	descClientAttempts = prometheus.NewDesc("twist_client_connect_attempts_total",
		"Attempts of the process's connectors to connect.", nil, nil)
	descClientConnected = prometheus.NewDesc("twist_client_connections_total",
		"Client connections made.", nil, nil)
	descClientFailures = prometheus.NewDesc("twist_client_connect_failures_total",
		"Connection attempts that failed, by reason: refused by the peer, timeout, other.", []string{"reason"}, nil)
	descClientOpen = prometheus.NewDesc("twist_client_connections_open",
		"Client connections open now.", nil, nil)
	descClientIn = prometheus.NewDesc("twist_client_received_bytes_total",
		"Bytes read from client connections (ciphertext for TLS).", nil, nil)
	descClientOut = prometheus.NewDesc("twist_client_sent_bytes_total",
		"Bytes written to client connections (ciphertext for TLS).", nil, nil)
	descRPCCalls = prometheus.NewDesc("twist_rpc_calls_total",
		"Calls of an RPC function, failed ones included.", []string{"server", "function"}, nil)
	descRPCErrors = prometheus.NewDesc("twist_rpc_errors_total",
		"Failed calls of an RPC function, by kind of error.", []string{"server", "function", "kind"}, nil)
	descRPCInFlight = prometheus.NewDesc("twist_rpc_calls_in_flight",
		"Calls of an RPC function waiting on a Deferred.", []string{"server", "function"}, nil)
	descRPCDuration = prometheus.NewDesc("twist_rpc_call_duration_seconds",
		"Duration of RPC calls, dispatch to answer (calls answered at once are sampled and weighted).", []string{"server", "function"}, nil)
	descRPCUnknown = prometheus.NewDesc("twist_rpc_unknown_function_calls_total",
		"Calls naming no registered function.", []string{"server"}, nil)
	descRPCUnsent = prometheus.NewDesc("twist_rpc_unsent_answers_total",
		"Answers that could not be written: the peer had reset or shut the connection.", []string{"server"}, nil)

	descThreadsSize = prometheus.NewDesc("twist_threads_max_workers",
		"Maximum number of workers of a thread pool.", []string{"pool"}, nil)
	descThreadsWorkers = prometheus.NewDesc("twist_threads_workers",
		"Workers of a thread pool, busy or idle.", []string{"pool"}, nil)
	descThreadsBusy = prometheus.NewDesc("twist_threads_busy_workers",
		"Workers of a thread pool running a function.", []string{"pool"}, nil)
	descThreadsQueued = prometheus.NewDesc("twist_threads_queued_calls",
		"Functions waiting for a worker of a thread pool.", []string{"pool"}, nil)

	descUnhandled = prometheus.NewDesc("twist_deferred_unhandled_failures_total",
		"Deferreds dropped with a failure (Unhandled error in Deferred).", nil, nil)
)

// collector is the Registry's prometheus.Collector.
type collector struct{ r *Registry }

// Collector returns a prometheus.Collector of everything the registry
// holds but its sections. Each Collect takes one Snapshot, so it must not
// run on a loop (promhttp's handler under web.HandlerResource runs on the
// thread pool). The sections' metrics, the Go runtime's and the process's
// own are not included: Register adds them.
func (r *Registry) Collector() prometheus.Collector { return collector{r} }

// Register registers the registry's collector with reg, along with an
// unchecked collector of its sections (their metrics are known only once
// read), the standard Go runtime collector (go_*) and process collector
// (process_*).
func (r *Registry) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		r.Collector(),
		sectionCollector{r},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Describe sends the descriptions of every metric the collector may give.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descLoopIterations, descLoopEvents, descLoopPosted, descLoopTimersRun,
		descLoopTimersPending, descLoopLag, descLoopBusy, descLoopResponding,
		descListenerOpen, descListenerAccepted, descListenerRefused, descListenerIn, descListenerOut,
		descUDPIn, descUDPOut, descUDPBytesIn, descUDPBytesOut, descUDPDropped, descUDPSendErrors,
		descClientAttempts, descClientConnected, descClientFailures, descClientOpen, descClientIn, descClientOut,
		descRPCCalls, descRPCErrors, descRPCInFlight, descRPCDuration, descRPCUnknown, descRPCUnsent,
		descThreadsSize, descThreadsWorkers, descThreadsBusy, descThreadsQueued,
		descUnhandled,
	} {
		ch <- d
	}
}

// Collect takes a Snapshot, without the sections, and sends it as metrics.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.snapshot(false)
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, l := range s.Loops {
		counter(descLoopIterations, float64(l.Iterations), l.Name)
		counter(descLoopEvents, float64(l.Events), l.Name)
		counter(descLoopPosted, float64(l.PostedCalls), l.Name)
		counter(descLoopTimersRun, float64(l.TimersRun), l.Name)
		gauge(descLoopTimersPending, float64(l.TimersPending), l.Name)
		ch <- histogram(descLoopLag, s.LatencyBounds, &l.Lag, l.Name)
		counter(descLoopBusy, l.Busy, l.Name)
		gauge(descLoopResponding, bool01(l.Responding), l.Name)
	}
	for _, l := range s.Listeners {
		gauge(descListenerOpen, float64(l.Open), l.Name)
		counter(descListenerAccepted, float64(l.Accepted), l.Name)
		counter(descListenerRefused, float64(l.Refused), l.Name)
		counter(descListenerIn, float64(l.BytesIn), l.Name)
		counter(descListenerOut, float64(l.BytesOut), l.Name)
	}
	for _, p := range s.UDP {
		counter(descUDPIn, float64(p.DatagramsIn), p.Name)
		counter(descUDPOut, float64(p.DatagramsOut), p.Name)
		counter(descUDPBytesIn, float64(p.BytesIn), p.Name)
		counter(descUDPBytesOut, float64(p.BytesOut), p.Name)
		counter(descUDPDropped, float64(p.Dropped), p.Name)
		counter(descUDPSendErrors, float64(p.SendErrors), p.Name)
	}
	cl := &s.Clients
	counter(descClientAttempts, float64(cl.Attempts))
	counter(descClientConnected, float64(cl.Connected))
	counter(descClientFailures, float64(cl.Refused), "refused")
	counter(descClientFailures, float64(cl.TimedOut), "timeout")
	counter(descClientFailures, float64(cl.Failed), "other")
	gauge(descClientOpen, float64(cl.Open))
	counter(descClientIn, float64(cl.BytesIn))
	counter(descClientOut, float64(cl.BytesOut))
	for _, srv := range s.RPCServers {
		counter(descRPCUnknown, float64(srv.UnknownCalls), srv.Name)
		counter(descRPCUnsent, float64(srv.UnsentAnswers), srv.Name)
	}
	for _, f := range s.RPC {
		counter(descRPCCalls, float64(f.Calls), f.Server, f.Name)
		for _, kind := range slices.Sorted(maps.Keys(f.Errors)) {
			counter(descRPCErrors, float64(f.Errors[kind]), f.Server, f.Name, kind)
		}
		gauge(descRPCInFlight, float64(f.InFlight), f.Server, f.Name)
		ch <- histogram(descRPCDuration, s.LatencyBounds, &f.Latency, f.Server, f.Name)
	}
	for _, p := range s.Threads {
		gauge(descThreadsSize, float64(p.Size), p.Name)
		gauge(descThreadsWorkers, float64(p.Workers), p.Name)
		gauge(descThreadsBusy, float64(p.Busy), p.Name)
		gauge(descThreadsQueued, float64(p.Queued), p.Name)
	}
	counter(descUnhandled, float64(s.UnhandledFailures))
}

// histogram makes a constant Prometheus histogram of a Latency, whose
// buckets Prometheus wants cumulative and keyed by their upper bounds.
func histogram(d *prometheus.Desc, bounds []float64, l *Latency, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += l.Buckets[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, l.Count, l.Sum, buckets, labels...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
