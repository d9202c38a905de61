// Package browser tests the status page (web/status) in a real browser:
// headless Chromium, driven with chromedp, loads the page from a running
// twistd under load. It is a module of its own, so that chromedp stays out
// of the core's go.mod.
package browser
