package etcdstore

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the package's rapid properties 40 times each unless
// -rapid.checks says otherwise: every step of them is an etcd round trip
// (and a Sync of every copy), so rapid's default 100 would take minutes
// under the race detector. Run with -rapid.checks=1000 for a deeper
// search.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		_ = flag.Set("rapid.checks", "40")
	}
	os.Exit(m.Run())
}
