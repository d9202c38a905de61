// Package crawl is a web crawler on Twist's event loop, in the model of
// Scrapy (which runs on Twisted): a Spider yields Requests, a Scheduler
// queues them by priority and drops the ones already seen, an Engine
// downloads them with web/client within a global and a per-domain
// concurrency limit and feeds each Response to the request's callback,
// whose output (items, more requests, or a Deferred of them) goes back to
// the scheduler and through the item pipelines. A Crawler runs one spider;
// a CrawlerProcess runs several on one loop and stops it when all are done.
//
// The engine does what makes a crawler usable on the real web: robots.txt
// is obeyed by default, time-outs, connection failures and 5xx answers are
// retried with exponential back-off, redirects are followed up to a cap
// (through the scheduler, so that a redirect to a page already fetched is
// not fetched again), and depth, allowed domains, response size and the
// delay between requests to one host are all settings (see Settings).
//
// Everything runs on the engine's loop: callbacks, errbacks and pipelines
// must not block. Parsing the HTML of a response (Response.Doc) uses
// golang.org/x/net/html; walking it (Find, Links) is iterative, so a deeply
// nested page cannot exhaust the stack.
package crawl
