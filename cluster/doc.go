// Package cluster holds the state of ECS clusters: container instances,
// their resources and attributes, and the tasks placed on them, with exact
// accounting. Every change goes through a [Cluster] method, so remaining
// resources are always the registered ones minus the demands of the tasks
// that are not STOPPED.
//
// # Types
//
//   - [Cluster] is one cluster's state, safe for concurrent use.
//   - [Instance] and [Task] are live records, read through a [View] inside
//     [Cluster.Read]; [InstanceInfo] and [TaskInfo] are copies safe to keep.
//   - [Demand] is what one task needs: CPU units, MiB of memory, static TCP
//     and UDP host ports ([PortSet]), GPUs and required attributes.
//     [Instance.Fits] is the fit test, in the documented [CheckOrder], and
//     returns a [Reason] ("RESOURCE:CPU", ...).
//   - [Placement] proposals are applied by [Cluster.Commit] all or nothing,
//     after a re-check against the current state; a [Guard] re-checks
//     placement constraints. [Pending] lets a scheduler count its own
//     undecided placements while it decides.
//   - [Observer] follows the change feed: an index kept current by the
//     cluster, never by its callers.
//   - [Clock] stamps every change; [ManualClock] drives tests and
//     simulations.
//
// # Concurrency
//
// A Cluster has one read-write lock. Readers share it; every change takes it
// exclusively, validates, applies and tells the observers before releasing
// it. Pointers reached through a [View] are valid only inside the Read
// callback that produced them. Schedulers decide under the read lock and
// commit under the write lock: optimistic concurrency with per-placement
// re-checks, so several schedulers can share a cluster without
// overcommitting it.
//
// # Costs
//
// Looking up an instance or task by id or ARN is a map access. [View.Instances]
// and [View.Tasks] are O(n) scans. The fit test is O(log p) in the ports an
// instance holds and allocates nothing.
package cluster
