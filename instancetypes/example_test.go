package instancetypes_test

import (
	"fmt"

	"github.com/stevedore-go/stevedore/instancetypes"
)

// How many awsvpc tasks fit on a c5.large, without and with ENI trunking.
func ExampleLookup() {
	t, ok := instancetypes.Lookup("c5.large")
	fmt.Println(ok, t.VCPUs, t.MemoryMiB, t.TaskENIs(false), t.TaskENIs(true))
	// Output: true 2 4096 2 10
}
