// Package stevedore is an in-process model of an Amazon ECS cluster and its
// schedulers, in pure Go: container instances with resource vectors, task
// definitions, tasks, and the schedulers that place tasks on instances.
//
// A [Client] offers ECS's control-plane operations by their ECS names and
// fields, in the calling shape of aws-sdk-go-v2 with plain values:
// CreateCluster, RegisterContainerInstance, RegisterTaskDefinition, RunTask,
// StartTask, DescribeTasks, StopTask and the rest. Placement failures come
// back as ECS does, in the output's Failures (RESOURCE:CPU, RESOURCE:MEMORY,
// RESOURCE:PORTS, AGENT, ...), never as errors; errors are ECS's exceptions
// ([ClusterNotFoundException], [InvalidParameterException],
// [ClientException], ...), matched with errors.As or errors.Is, and a call
// that returns one changed nothing.
//
// # Concepts
//
//   - A cluster is a named set of container instances (package cluster).
//   - A container instance registers CPU units (1024 per vCPU), MiB of
//     memory, reserved host ports (22, 2375, 2376, 51678, 51679 by default),
//     GPUs and attributes; its remaining resources are exactly its
//     registered ones minus the demands of its tasks that are not STOPPED.
//   - A task definition (package taskdef) is ECS JSON, registered as
//     family:revision; a task's demand is its CPU, memory, static host ports
//     and GPUs.
//   - A task runs on one instance: PENDING when placed, RUNNING when its
//     agent reports it started, STOPPED when stopped or when it exits.
//   - Schedulers (package scheduler) read the cluster, decide, and commit a
//     proposal that is re-checked against the current state and applied all
//     or nothing. RunTask uses the whitepaper's random spread, or the
//     placement strategies and constraints it is given (package placement:
//     binpack, spread, random; distinctInstance, memberOf with the cluster
//     query language), answered by an index that never scans the cluster;
//     StartTask pins tasks to named instances; a custom scheduler (a
//     scheduler.Scheduler) runs in the same cycle with [Client.Schedule],
//     on task specs from [Client.TaskSpec].
//   - A service (CreateService) keeps a task definition at its desired
//     count (REPLICA) or on every qualifying instance (DAEMON). The service
//     scheduler runs one deterministic step per [Client.Reconcile]: it
//     replaces stopped tasks, rolls deployments within maximumPercent and
//     minimumHealthyPercent, drains instances, scales in and trips the
//     deployment circuit breaker, and records ECS's service events.
//
// Agent-side events are explicit calls, so a program or a test drives them
// deterministically: [Client.SubmitTaskStateChange] (a task started or
// exited), [Client.StartPendingTasks] (every agent starts its PENDING
// tasks), [Client.SetAgentConnected] and [Client.TerminateInstance]. Time
// comes from [Options.Clock] and randomness from [Options.Rand], so every run
// replays.
//
// # Real clusters
//
// [ReadSnapshot] reads what the AWS CLI's describe-* commands print, and
// [Import] makes a Client of it that keeps every ARN, id and timestamp
// (what the model cannot hold is reported, see [ImportReport]; the rules
// are §8). [Client.Fork] copies a Client; what runs on the copy leaves the
// original as it was, and [Diff] turns the difference into the AWS CLI
// calls that would make it real. A [Driver] runs a simulation forward.
//
// # Example
//
//	ecs, err := stevedore.New(stevedore.Options{Clock: stevedore.NewManualClock(start), Rand: rand.NewPCG(1, 2)})
//	if err != nil { ... }
//	ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "Walkthrough"})
//	ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
//		Cluster: "Walkthrough",
//		TotalResources: []stevedore.Resource{
//			{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
//			{Name: "MEMORY", Type: "INTEGER", IntegerValue: 996},
//		},
//	})
//	in, _ := stevedore.DecodeRegisterTaskDefinitionInput(nginxJSON)
//	ecs.RegisterTaskDefinition(ctx, in)
//	out, _ := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper"})
//	// out.Tasks[0] is PENDING on the instance; out.Failures is empty.
//
// # Concurrency
//
// Every method of [Client] is safe for concurrent use. Reads see a
// consistent state of a cluster. A scheduling decision is made on a
// consistent view and committed with a re-check of every placement (does
// the task still fit, do its ports still not collide); a commit that no
// longer fits is decided again, a bounded number of times
// ([Options.MaxCommitAttempts]), then reported as failures. A cluster's
// commit and conflict counters are in DescribeClusters' STATISTICS. How the
// commit path stays short is package cluster's business (see its
// Concurrency section).
//
// # Layers
//
// The root package is the API, the one most programs need. Below it:
// scheduler (the Scheduler interface for custom schedulers, RunTask's
// schedulers, StartTask pinning, the service reconciler), placement
// (strategies, constraints, the cluster query language, the reference scan
// and the index), cluster (state and accounting, the change feed and
// optimistic commits) and taskdef (task definitions, their JSON, their
// validation and the family:revision registry).
//
// # What is modelled, and [INF]
//
// The behaviour the library reproduces, rule by rule with its sources, is
// in the repository's [docs/semantics.md]; the section numbers in comments
// (§3.2) are that page's. Where ECS's documentation does not say what ECS
// does, Stevedore decides: such a decision is marked [INF] in the comment
// that states it and on that page, and a test pins it. A program that relies
// on an [INF] point relies on Stevedore, not on ECS.
//
// [docs/semantics.md]: https://github.com/stevedore-go/stevedore/blob/main/docs/semantics.md
package stevedore
