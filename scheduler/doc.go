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
//     [Pin] is StartTask's.
//   - [Failure] is a task that could not be placed, with ECS's reason and a
//     [Tally] of why each instance was rejected.
//
// # Concurrency
//
// A Scheduler value is used by one Execute at a time. Execute itself is
// safe to call from many goroutines on one cluster: the cluster's commit
// re-check keeps them from overcommitting any instance.
package scheduler
