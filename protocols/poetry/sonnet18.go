package poetry

import _ "embed"

// Sonnet18 is the text of Shakespeare's Sonnet 18 (1609), with its title and
// author on the first lines.
//
//go:embed sonnet18.txt
var Sonnet18 []byte
