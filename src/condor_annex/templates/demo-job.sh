#!/bin/sh
# condor-annex demo job: say where it ran and as whom, then work a little.
echo "job $1 ran on $(hostname) as $(id -un)"
sleep "$2"
