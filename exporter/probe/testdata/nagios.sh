#!/bin/sh
# A Nagios-style plugin for tests: exits with $1 and prints $2 as its first line.
printf '%s\n' "$2"
printf 'second line is ignored\n'
exit "$1"
