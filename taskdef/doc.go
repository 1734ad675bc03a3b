// Package taskdef models Amazon ECS task definitions: their JSON, the rules
// RegisterTaskDefinition applies, the resources one task takes, and the
// family:revision registry. It is a leaf: it imports nothing of Stevedore.
//
// # Basics
//
// A [TaskDefinition] holds [ContainerDefinition] values, [Volume] values and
// task-level settings, with the JSON names ECS uses. [Decode] reads the input
// of `aws ecs register-task-definition --cli-input-json` strictly (an unknown
// member is an [*UnknownFieldError]); [DecodeDescribed] reads
// describe-task-definition output; [Encode] writes the register input back.
//
// [TaskDefinition.Validate] returns the first rule a definition breaks as a
// [*ValidationError] carrying the ECS exception name; every one matches
// [ErrInvalid]. Rules that are library decisions rather than documented ECS
// behaviour are marked [INF] in the source.
//
// [TaskDefinition.Demand] computes the [Demand] vector placement needs: CPU
// units, MiB, static TCP and UDP host ports, GPUs.
//
// # Registry
//
// A [Registry] assigns revisions (never reused), ARNs and status, and resolves
// references ("family", "family:revision", ARN) to an [*Entry]. An Entry is an
// immutable snapshot with its Demand computed once; [Registry.Deregister]
// replaces it with a new INACTIVE Entry (copy-on-write). Lookup errors are
// [*ReferenceError] values wrapping [ErrNotFound] or [ErrInvalidReference].
//
// # Concurrency
//
// A [Registry] is safe for concurrent use by any number of goroutines;
// [*Entry] values are immutable and may be shared freely (the slices inside
// [Entry.Demand] are read-only). [TaskDefinition] and the other structs are
// plain values: share them only while nobody writes to them, or use
// [TaskDefinition.Clone]. The package-level functions keep no state.
//
// # Costs
//
// Resolve by family or revision is O(1) after parsing the reference;
// Register is O(size of the definition); List and Families sort the family
// names, O(F log F + N).
package taskdef
