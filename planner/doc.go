// Package planner answers capacity questions no scheduler answers: how
// many instances of a type a workload needs, how close that is to the
// least any packing could use, and which constraint binds.
//
// The heart is vector bin packing. A workload is a list of task shapes
// (CPU units, MiB of memory, GPUs, awsvpc ENIs, static host ports, and an
// optional distinctInstance group); an instance type is a bin of
// capacities. [Bound] gives the lower bound on the bins any packing needs
// — per dimension the L1 bound (the sum over the capacity) and Martello
// and Toth's L2, the tasks sharing one host port, the tasks of one
// distinctInstance group — and names the constraint that sets it. [Pack]
// runs a portfolio of packing heuristics (best fit in arrival order, best
// fit over random orders, first fit decreasing by summed size, bin-centric
// filling by dot product and by minimum slack), keeps the packing with
// the fewest bins, and improves it: a local search that empties the
// least-filled bins, a large-neighbourhood repack of the bins with room
// left, and a swap search that frees the least-filled bins and swaps their
// items into the others where they fill them more. It stops as soon as a
// packing meets the bound. Packing never sorts-and-packs blindly: every heuristic's result is
// measured against the bound. [PlanCapacity] runs it for each candidate
// instance type (from package instancetypes, with its registered memory
// and price), per Availability Zone when the workload spreads over zones,
// adds a mixed fleet where smaller types hold some instances' tasks for
// less, and ranks the fleets by cost or by instances.
//
// [PlaceBatch] places a batch of tasks (task definitions × counts, each
// with RunTask's strategies and constraints) on a live Client's cluster,
// all or nothing or best effort, in one commit. [PlanRebalance] plans, on
// a fork, the moves that spread services over zones and instances or free
// whole instances, in waves that keep each service within its deployment
// configuration.
package planner
