#!/bin/sh
# Functions the project does not use (STYLE.md 25, after curl's checksrc):
# unbounded copies and formats, and number parsing without error checks.
cd "$(dirname "$0")/../.." || exit 1
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok)\s*\(' \
	src include fuzz tests --include='*.c' --include='*.h' | grep -vE '\b(snprintf|vsnprintf)\s*\(')
if [ -n "$hits" ]; then
	echo "banned functions in use:"
	echo "$hits"
	exit 1
fi
echo "no banned functions"
