package stevedore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/stevedore-go/stevedore"
)

// A real cluster's describe-* output becomes a Client that keeps its
// identity; the report says what was left out and where the remaining
// resources recomputed from the tasks differ from the described ones.
func ExampleImport() {
	ctx := context.Background()
	snap, err := stevedore.ReadSnapshot(os.DirFS("testdata/snapshot"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ecs, rep, err := stevedore.Import(ctx, snap, stevedore.Options{Clock: stevedore.NewManualClock(snap.Time())})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d instances, %d tasks, %d services; %d left out, %d drifted\n",
		rep.ContainerInstances, rep.Tasks, rep.Services, len(rep.Skipped), len(rep.Drift))
	out, _ := ecs.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "prod", Services: []string{"web"}})
	for _, d := range out.Services[0].Deployments {
		fmt.Println(d.Status, d.TaskDefinition, d.RolloutState)
	}
	// Output:
	// 36 instances, 112 tasks, 3 services; 0 left out, 0 drifted
	// PRIMARY arn:aws:ecs:eu-west-1:111122223333:task-definition/web:2 IN_PROGRESS
	// ACTIVE arn:aws:ecs:eu-west-1:111122223333:task-definition/web:1 COMPLETED
}

// A decision tried on a fork leaves the original alone; Diff gives the
// AWS CLI calls that make it real.
func ExampleDiff() {
	ctx := context.Background()
	snap, _ := stevedore.ReadSnapshot(os.DirFS("testdata/snapshot"))
	ecs, _, err := stevedore.Import(ctx, snap, stevedore.Options{Clock: stevedore.NewManualClock(snap.Time())})
	if err != nil {
		fmt.Println(err)
		return
	}
	fork, _ := ecs.Fork(ctx)
	if _, err := fork.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "prod", Service: "api", DesiredCount: new(45)}); err != nil {
		fmt.Println(err)
		return
	}
	d := &stevedore.Driver{Client: fork, Clock: fork.Clock().(*stevedore.ManualClock), Cluster: "prod", StartDelay: 20 * time.Second}
	if _, err := d.RunUntilSteady(ctx, 15*time.Second, 100); err != nil {
		fmt.Println(err)
		return
	}
	changes, _ := stevedore.Diff(ctx, ecs, fork)
	for _, c := range changes.Calls {
		fmt.Println(c)
	}
	fmt.Println(changes.Notes[0])
	// Output:
	// aws ecs update-service --cli-input-json '{"cluster":"prod","desiredCount":45,"service":"api"}'
	// service:api: the service scheduler starts 5 tasks the fork placed; ECS chooses their instances
}
