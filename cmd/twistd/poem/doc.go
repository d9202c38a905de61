// Package poem holds the public-domain poems that twistd's poetry plugins
// serve, for them and for the poetry examples: Shakespeare's Sonnet 18 and
// Blake's The Tyger.
package poem
