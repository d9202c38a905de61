module github.com/twistgo/twist/protocols/bgp/gobgpdiff

go 1.26.0

require github.com/twistgo/twist v0.0.0-00010101000000-000000000000

require (
	github.com/osrg/gobgp/v3 v3.37.0
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/twistgo/twist => ../../../
