"""The Slurm provider: annexes of HTCondor pilot jobs on a Slurm cluster (issue 11).

`localcluster` is a real single-node Slurm that condor-annex installs, starts and stops
itself, for the tests and the demo; `cli` holds its `annex slurm ...` commands.
"""
