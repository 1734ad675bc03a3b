package stevedore_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stevedore-go/stevedore"
)

// FuzzSnapshot: any bytes given to Snapshot.Add either add to it or are
// an error that leaves it unchanged, never a panic; whatever was added
// imports without a panic (an error is fine).
func FuzzSnapshot(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join(snapshotDir, "*.json"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/x/1", "createdAt": 1.5e9, "containers": [{"networkBindings": [{"hostPort": 70000}]}]}]}`))
	f.Add([]byte(`{"containerInstances": [{"containerInstanceArn": "arn:aws:ecs:us-east-1:123456789012:container-instance/a", "registeredAt": "2026-11-30T09:00:00.1+00:00", "registeredResources": [{"name": "CPU", "integerValue": 1}, {"name": "MEMORY", "integerValue": 1}]}]}`))
	f.Add([]byte(`{"taskDefinition": {"family": "a", "revision": 1, "registeredAt": 17e8, "containerDefinitions": [{"name": "a", "image": "a", "memory": 1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &stevedore.Snapshot{}
		if err := s.Add("fuzz.json", data); err != nil {
			if !reflect.DeepEqual(s, &stevedore.Snapshot{}) {
				t.Fatalf("a refused document changed the snapshot: %v", err)
			}
			return
		}
		_, _, _ = stevedore.Import(context.Background(), s, stevedore.Options{})
	})
}
