// Package chaos declares Seshat's chaos matrix once: eleven scenarios, each
// a timeline of workload, faults and expectations written against the
// abstract Cluster. The simulator (package sim) runs them in virtual time;
// a runner of real seshat-node processes can run the same declarations,
// which is why nothing here may know it is simulated.
//
// A runner's duties, in order:
//
//  1. Build a cluster of Scenario.Nodes nodes with the scenario's node
//     settings (Scenario.SnapshotEntries), seeded from the run's seed.
//  2. Call Execute(cluster, scenario). It runs the timeline; every fault,
//     every wait and every command goes through the Cluster.
//  3. Whatever Execute returns, heal the cluster (network, restart every
//     node), demand liveness (a leader, a committed write and a read within
//     a bound), and judge the whole client history for linearizability.
//     Execute's error is the scenario's own expectations failing.
//
// Each scenario asserts its own bounds (a new leader within 2 s, a clear
// error well before the 30 s request timeout, ...) and also that its
// interesting path really happened: a scenario that passes without
// exercising its fault is a failure.
package chaos
