#!/bin/sh
# Starts a child that outlives the parent unless the whole process group is killed.
sleep 30 &
echo "$!" > "$1"
sleep 30
