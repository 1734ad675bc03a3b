// Package scheduler decides where tasks run and commits the decisions.
//
// # Types
//
//   - [Scheduler] is the one-method interface every scheduler satisfies,
//     built in or written by a user ([Func] adapts a function): it reads a
//     consistent [cluster.View] and fills a [Plan].
//   - [Execute] runs the optimistic cycle: decide under the cluster's read
//     lock, commit the plan all or nothing, and decide again when a
//     concurrent change made the plan stale, a bounded number of times.
//   - [RandomSpread] is RunTask's scheduler without a placement strategy;
//     [Strategic] is RunTask's with one (it asks a [Placer], the cluster's
//     placement engine); [Pin] is StartTask's.
//   - [Services] holds a cluster's services and reconciles them:
//     [Services.Reconcile] is one deterministic step of the service
//     scheduler — desired counts, replacement of stopped tasks with a start
//     throttle, rolling deployments within maximumPercent and
//     minimumHealthyPercent, draining, scale-in, the deployment circuit
//     breaker, DAEMON services — written as a [Scheduler] like the others.
//   - [Failure] is a task that could not be placed, with ECS's reason and a
//     [Tally] of why each instance was rejected.
//
// # Concurrency
//
// A Scheduler value is used by one Execute at a time. Execute itself is
// safe to call from many goroutines on one cluster: the cluster's commit
// re-check keeps them from overcommitting any instance. [Services] is safe
// for concurrent use; one Reconcile runs at a time per cluster.
package scheduler
