"""`annex replay`: a discrete-event simulation of a queue and a pool that replays a workload
trace under the planner (the same `plan()` the controller calls) and three baselines."""
