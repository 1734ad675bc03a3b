// Package placement decides which container instance of an ECS cluster a
// task goes to: ECS's placement strategies (binpack, spread, random) and
// constraints (distinctInstance, memberOf), the cluster query language of
// memberOf, [Reference], the placement rule written as a plain scan, and
// [Engine], the index that answers the same rule without a scan.
//
// # Types
//
//   - [Strategy], built by [ParseStrategy], is one strategy rule;
//     [Constraint], built by [ParseConstraint], one constraint.
//     [Constraints] is the set on one task; it implements [cluster.Guard],
//     so a commit re-checks it.
//   - [Request] is one task to place: its [cluster.TaskSpec], a strategy
//     chain of at most [MaxStrategies] rules, at most [MaxConstraints]
//     constraints and the Rand of random strategies. [Request.Validate]
//     checks it; every such error wraps [ErrInvalid].
//   - [Decision] is the answer: the chosen instance, or, when no instance
//     can take the task, the closest one, its [cluster.Reason] and a [Tally]
//     of why each instance was rejected. An unsatisfiable placement is a
//     Decision, never an error.
//   - [Expression], built by [ParseExpression], is a compiled cluster query
//     language expression, evaluated against a [QueryTarget]; a malformed
//     one is a [*SyntaxError].
//
// # Strategies
//
// A request's strategies form a chain ranked lexicographically
// (docs/semantics.md §3.2): the first rule orders the instances that can take
// the task, each later rule only orders those the earlier ones rank equal,
// and what is still tied goes to a fixed pseudo-random order derived from a
// seed, so the same seed always picks the same instance. Lower keys win:
//
//   - binpack(cpu), binpack(memory): the instance's remaining CPU units or
//     MiB of memory, so the instance with the least left that still fits
//     the task wins. The field is case-insensitive.
//   - spread(instanceId), spread(host): the number of tasks of the task's
//     group on the instance. Only the group counts: service tasks are
//     spread over the service's tasks ("service:NAME"), standalone tasks
//     over their group ("family:NAME" by default); tasks of other groups
//     and STOPPED tasks do not count.
//   - spread(attribute:NAME): the number of the group's tasks on all
//     instances that share the instance's value of NAME. Instances lacking
//     NAME together count as one more value [INF]. So
//     spread(attribute:ecs.availability-zone) evens the group over the
//     zones; followed by spread(instanceId), it evens it over the zones and
//     then over the instances within each zone; followed by
//     binpack(memory), it bin packs within the least loaded zone.
//   - random: first in the chain, a uniform draw among the instances that
//     can take the task (see [SampleTries]); later, a random order that
//     decides among the instances the earlier rules rank equal.
//
// An empty chain leaves everything to the seeded tie-break. Tasks placed
// earlier in the same call (a [cluster.Pending]) count as placed for every
// rule: their resources are taken and their group counted.
//
// # Constraints
//
// Constraints are binding: all must hold on the chosen instance.
//
//   - distinctInstance takes no expression; it holds on an instance that
//     runs no task of the group, PENDING or RUNNING, and none placed earlier
//     in the same call.
//   - memberOf holds on an instance its expression matches. task:group sees
//     the call's earlier placements; runningTasksCount counts RUNNING tasks
//     only.
//
// Each instance is tested by [cluster.Instance.Fits] (status, CPU, memory,
// ports, GPUs, attributes, agent, in [cluster.CheckOrder]) and then by the
// constraints. When no instance passes, the Decision's Tally counts each
// instance's first failing check, INACTIVE instances left out, and Closest
// is the instance whose first failing check comes latest in
// cluster.CheckOrder, the first registered on a tie; it is nil when every
// instance is INACTIVE or there are none.
//
// # The cluster query language
//
// memberOf expressions are written in ECS's cluster query language
// (docs/semantics.md §3.4): simple expressions `subject operator [value]` over
// attribute:NAME, agentConnected, agentVersion, ec2InstanceId,
// registeredAt, runningTasksCount and task:group, combined with not (!),
// and (&&) and or (||), in that order of precedence, and parentheses. Where ECS's documentation is silent the package decides,
// as query.go records:
//
//   - Keywords are case-sensitive.
//   - =~ and !~ take a regular expression in Go's RE2 syntax that must
//     match the whole value: g2.* matches g2.2xlarge, not xg2. ECS documents
//     Java regular expressions; RE2 is their common subset and matches in
//     linear time. Backreferences, lookahead and lookbehind, atomic groups,
//     possessive quantifiers, \G, \Z, \R, \X, \h and Java's
//     \p{javaLowerCase} classes are rejected when the expression is parsed.
//   - attribute:NAME != v holds only on instances that have NAME (ECS
//     documents attribute:stack != prod this way), as does every other
//     operator except !exists; not(attribute:NAME == v) also holds on
//     instances without NAME. >, >=, < and <= compare numerically when both
//     sides are decimal numbers, else byte by byte.
//   - A bareword value runs to the next white space, ',', '[', ']', '(',
//     ')' or quote, so `a == b&&c` compares with "b&&c": put spaces around
//     && and ||. A value in single quotes may hold anything; a quote inside
//     is written as two quotes; there are no other escapes.
//     [Expression.String] prints the canonical form, quoting only values
//     that are not barewords.
//   - agentVersion compares dot-separated numbers; registeredAt compares at
//     the precision of the value (a second, or a whole UTC day).
//   - Expressions are at most [MaxExpressionLength] characters and nest at
//     most [MaxExpressionDepth] levels.
//
// # Reference and index
//
// [Reference] tests every instance and keeps the best by the strategy
// chain. Cost: O(n) per placement for n instances, plus O(n) per
// spread(attribute) rule, on purpose: it is written to be obviously
// correct, not fast, and is the oracle that faster placement is tested
// against.
//
// [Engine] is the index: it follows a cluster through its change feed
// ([cluster.Observer]) and answers a placement without testing every
// instance — treaps ordered by remaining memory or CPU (or the tie-break
// order alone), per attribute value and per task group, each node carrying
// its subtree's most remaining CPU, memory and GPUs, so subtrees without
// room are skipped. It picks exactly what Reference picks with the same
// seed, the same Rand and the same pending placements, for every chain and
// every cluster (a rapid property checks it); a steady-state Place
// allocates nothing. Chains it has no plan for are answered by Reference.
// A task that fits nowhere is explained from a census of its task shape
// that follows the change feed, at the cost of the instances that changed
// since the shape was last explained.
//
// # Concurrency
//
// [Expression], [Strategy], [Constraint] and [Constraints] are immutable
// once built and safe for concurrent use. A [Request] is read, not
// modified, by Reference, except that random strategies draw from its
// Rand, which is not safe for concurrent use: give each goroutine its own
// Request, or at least its own Rand. Reference reads a [cluster.View]: call
// it inside [cluster.Cluster.Read], under the cluster's read lock, and do
// not keep the Decision's instances past the callback. The [cluster.Pending]
// it is given belongs to the calling goroutine.
package placement
