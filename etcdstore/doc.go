// Package etcdstore shares one Stevedore control plane's state between
// processes through etcd: several `stevedore serve --store etcd://...`
// replicas behind one address, or a custom scheduler beside the service
// scheduler.
//
// # Design
//
// The state is a log, not a set of records [INF]. A [stevedore.Client]
// is deterministic (package journal): the same calls in the same order at
// the same times give the same state. So each call that can change the
// state is written to etcd as one key under Prefix+"log/" (its operation,
// its body, the time), in one etcd transaction; every replica watches the
// log and applies each entry, in etcd's revision order, to its own
// Client; the replica that wrote an entry answers its caller with what
// applying it gave, which every other replica got too. Reads are answered
// from the replica's copy once it has caught up with the revision etcd
// had when the read arrived, so a read sees every write acknowledged
// before it, on any replica.
//
// A call is thus all or nothing, and two replicas' calls never interleave:
// each runs whole, in the log's order, on a state that already has every
// call before it. Placement is re-decided where the entry is applied, so
// the optimistic conflict of two schedulers deciding on the same instance
// is resolved as the in-memory Client resolves it: the later call sees
// the earlier one's tasks (a StartTask that no longer fits fails with
// ECS's reason). Every replica's placement index follows the log, and so
// every commit made anywhere, in revision order.
//
// What this costs: every replica does every call's work, and calls are
// applied one at a time in each replica, so more replicas add
// availability and read capacity, not write throughput; the log is never
// shortened (etcd's compaction drops old revisions, not keys), so it grows
// with the calls made.
//
// # Restart, compaction, leadership
//
// [Open] reads the whole log at one revision and follows it from the
// next. A watch whose revisions etcd compacted away makes the replica load
// the log again at the current revision ([Replica.Reloads]): never a
// silent gap. [Replica.RunScheduler] campaigns in an etcd election
// (Prefix+"leader"); the leader alone logs ticks — the simulated agents,
// capacity management and the service scheduler — each guarded by its
// leadership in the same transaction, and when it dies its lease lapses
// and another replica leads.
//
// The package is its own module, so that etcd's client (gRPC, protobuf,
// zap) stays out of the library's dependencies.
package etcdstore
