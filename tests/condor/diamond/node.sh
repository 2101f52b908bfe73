#!/bin/sh
# A diamond node: writes NODE.out as NODE[<its inputs' contents>]. The inputs are in the
# job's scratch directory only if file transfer brought them there.
set -e
node=$1
printf '%s[' "$node" > "$node.out"
for input in $(echo "$2" | tr ',' ' '); do
    tr -d '\n' < "$input" >> "$node.out"
done
printf ']\n' >> "$node.out"
