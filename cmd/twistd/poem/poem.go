// Package poem holds the public-domain poem that twistd's poetry plugins
// serve, for them and for the poetry examples: Shakespeare's Sonnet 18.
package poem

import _ "embed"

// Sonnet18 is the text of Shakespeare's Sonnet 18 (1609), with its title and
// author on the first lines.
//
//go:embed sonnet18.txt
var Sonnet18 []byte
