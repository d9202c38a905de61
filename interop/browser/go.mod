module github.com/twistgo/twist/interop/browser

go 1.26.0

replace github.com/twistgo/twist => ../../

require (
	github.com/chromedp/chromedp v0.23.1
	github.com/twistgo/twist v0.0.0-00010101000000-000000000000
)

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	go.mongodb.org/mongo-driver/v2 v2.9.3 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
