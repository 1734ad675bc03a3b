// Package etcdstore shares Stevedore state between processes through
// etcd. It has two stores, for two kinds of sharing:
//
//   - [Cluster] is the commit seam on etcd: one ECS cluster's container
//     instances and tasks as keys, and its task definitions and services
//     too, for schedulers in several processes that embed the library —
//     a custom scheduler beside the service scheduler, as ECS itself is
//     built. Each process decides on its own copy and commits with
//     optimistic concurrency.
//   - [Replica] shares a whole ECS control plane (a [stevedore.Client]:
//     clusters, services with their deployments and events, capacity
//     providers, Auto Scaling groups, account settings, tags) between
//     several `stevedore serve --store etcd://...` replicas behind one
//     address, so that any of them answers any ECS call.
//
// The package is its own module, so that etcd's client (gRPC, protobuf,
// zap) stays out of the library's dependencies.
//
// # Cluster: one key per instance and per task
//
// Under Prefix+"clusters/"+name the cluster has a key of its own, a key
// per container instance ("/instances/<id>") and a key per task
// ("/tasks/<id>"), each an ECS-named JSON record. Each process holds a
// copy, a [cluster.Cluster] that follows etcd's watch in revision order,
// so its observers (a placement engine's index) follow every commit made
// anywhere. [OpenCluster] loads every record at one revision and watches
// from the next.
//
// A commit ([Cluster.Apply], the [scheduler.State] seam) is re-checked on
// the copy as the in-memory cluster re-checks it, then written in one
// etcd transaction that puts the records of the tasks it starts and
// stops and of every instance it touches, guarded by the mod revision of
// each of them: two commits on one instance never both succeed from the
// same state. When a guard fails, the copy catches up with etcd and the
// proposal is checked again: one that still fits is written again, one
// that does not is refused with the same [*cluster.ConflictError] the
// in-memory cluster gives, and [scheduler.Execute] decides again. The
// copy takes its own commit when it is made, and another process's when
// the watch brings it. Commits on different instances proceed in
// parallel from different processes. Within a process one transaction is
// on its way at a time (the copy's lock is held for its round trip, so
// that the watch cannot change the copy between check and write), and
// the proposals made meanwhile are written together in the next one: a
// group commit, checked as one proposal, or proposal by proposal when it
// does not fit as a whole, so that each caller gets its own answer.
//
// Registering, draining and deregistering instances and the agent's
// reports are guarded writes of the same records. Task definitions are
// keys under Prefix+"taskdefs/" (shared by every cluster under the
// prefix, as in an ECS account), services under the cluster's key +
// "/services/". [Cluster.RunServices] runs the service scheduler in one
// process at a time, through an etcd election: its commits carry its
// election term as one more guard, so a process that lost the election
// commits nothing, and a new leader takes each service up with its
// tasks, grouped into deployments by their startedBy.
//
// A commit writes one key per task and per instance in one transaction,
// so it is bounded by etcd's --max-txn-ops (128 by default): set
// ClusterOptions.MaxTxnOps to the server's value, and larger proposals
// are refused with [ErrTooLarge] before they are sent. The service
// scheduler commits a round that large in parts, stops first (a round
// need not be atomic, as ECS's is not). [Cluster.DeleteService] marks a
// service DRAINING; the service scheduler stops its tasks, then deletes
// its key. The keys of
// STOPPED tasks are deleted past their retention ([Cluster.PruneStopped],
// which the elected service scheduler runs at each tick).
//
// # Replica: a log of calls
//
// A [stevedore.Client] is deterministic (package journal): the same calls
// in the same order at the same times give the same state. So each call
// that can change the state is written to etcd as one key under
// Prefix+"log/" (its operation, its body, the time), in one etcd
// transaction; every replica watches the log and applies each entry, in
// etcd's revision order, to its own Client; the replica that wrote an
// entry answers its caller with what applying it gave, which every other
// replica got too. Reads are answered from the replica's copy once it has
// caught up with the revision etcd had when the read arrived, so a read
// sees every write acknowledged before it, on any replica.
//
// A call is thus all or nothing, and two replicas' calls never
// interleave: each runs whole, in the log's order, on a state that
// already has every call before it. A StartTask that no longer fits fails
// with ECS's reason where it is applied. The Client's state is larger than
// instances and tasks, and only the log reproduces all of it exactly; what
// this costs: every replica does every call's work, calls are applied one
// at a time, and the log is never shortened.
//
// # Restart, compaction, leadership
//
// Both stores load their state at one revision and follow it from the
// next. A watch whose revisions etcd compacted away makes the store load
// again at the current revision (Reloads counts it): never a silent gap.
// A Cluster's reload takes what it missed in an order that never needs
// more room than the cluster had: stops, then instances, then new tasks.
// A record the copy cannot take (one written without the guards) stops
// the copy with [ErrDiverged]. Elections ([Replica.RunScheduler],
// [Cluster.RunServices]) use etcd leases: when a leader dies, its lease
// lapses within its TTL and another process leads; a leader that stops
// revokes its lease at once.
//
// Elections wait out an outage of etcd: a lease etcd does not grant is
// asked for again, with a backoff, and the process campaigns when etcd is
// back.
//
// Package [github.com/stevedore-go/stevedore/etcdstore/etcdtest] runs real
// etcd servers inside a test process, for tests of code on these stores.
//
// Do not call a store's methods from inside a Read callback: the copy's
// read lock is held there, and the watch waits for it.
package etcdstore
