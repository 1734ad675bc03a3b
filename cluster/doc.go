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
// The write-locked part of a change is kept short so that calls on several
// cores proceed together: task records, ARNs and answers are built before
// the lock is taken; task ids come from the cluster's counter through a
// bijective mix (one add under the lock, never a repeat) and encode the
// task's number, so a task is found by number, not hashed; and a writer
// waiting for the lock spins briefly before it blocks, since a critical
// section lasts about a microsecond.
//
// # Commit seam
//
// Schedulers reach the state through two operations: [Cluster.Read] (a
// consistent view) and [Cluster.Apply] (a proposal of stops and
// placements, re-checked and applied all or nothing, or refused with a
// [ConflictError], after which the scheduler decides again), and indexes
// follow it through [Observer]. That is where the state can move to an
// external store with compare-and-swap transactions: Apply becomes one
// transaction guarded by the revisions of the instances and tasks it
// touches, the change feed the store's watch.
//
// # Costs
//
// Looking up an instance or task by id or ARN is a map access. [View.Instances]
// and [View.Tasks] are O(n) scans. The fit test is O(log p) in the ports an
// instance holds and allocates nothing.
package cluster
