module github.com/twistgo/twist

go 1.26.0

require (
	go.mongodb.org/mongo-driver/v2 v2.9.3
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require go.etcd.io/bbolt v1.5.0 // indirect
