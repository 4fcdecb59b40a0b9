#!/bin/sh
# check.sh: model-check the TLB-shootdown protocol (tools/spin/shootdown.pml) with spin.
#
# usage: tools/spin/check.sh [BUILD_DIR]     (default: build/spin in the repository)
#
# Runs every configuration in a fresh temporary directory under BUILD_DIR and reports
# in TAP (as every pagoda test does; tools/ktap.py): a plan, then per check
# "# spin: ..." diagnostic lines (states, time, memory, what was found) and exactly one
# of
#   ok N <name>
#   not ok N <name>
# For the correct model ok means a complete exhaustive search with no assertion
# violation and no invalid end state; for a deliberately broken variant ok means
# spin found the expected kind of violation. Exits non-zero if any check failed.
# See docs/shootdown-model.md.

# shellcheck disable=SC2086  # $defs, $PAN_CFLAGS, $PAN_FLAGS are word lists
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
model="$here/shootdown.pml"
build=${1:-"$root/build/spin"}

# name | expected result | spin -D options
# The expected result is "ok" (no violation, complete search) or the properties of
# which a violation counts as finding the bug (letters as in shootdown.pml and the
# doc: a, b, c = the access and reclaim properties, d = deadlock). The broken
# variants are checked with ACCESS_ONLY, so what is found is an actual bad access,
# not the strong form asserted when a call returns; the two switch-order bugs also
# without space_delete, whose "CPU runs a deleted space" spin would report first.
CHECKS='shootdown-ncpu2|ok|-DNCPU=2
shootdown-ncpu3|ok|-DNCPU=3
bug-skip-remote|ab|-DNCPU=2 -DACCESS_ONLY -DBUG_SKIP_REMOTE
bug-clear-before-cr3|abc|-DNCPU=2 -DACCESS_ONLY -DNO_DELETE -DBUG_CLEAR_BEFORE_CR3
bug-load-before-set|abc|-DNCPU=2 -DACCESS_ONLY -DNO_DELETE -DBUG_LOAD_BEFORE_SET
bug-lazy-snapshot-first|bc|-DNCPU=2 -DACCESS_ONLY -DBUG_LAZY_SNAPSHOT_FIRST
bug-no-poll|d|-DNCPU=2 -DBUG_NO_POLL
bug-no-poll-lock|d|-DNCPU=2 -DBUG_NO_POLL_LOCK'

# Which property a violation reported by pan is (the assert expressions of the model).
property() {
	case "$1" in
	*"invalid end state"*)        echo d ;;
	*"ro_f!=tlb_f"*|*"tlb_w[s]"*) echo a ;;
	*"lazy_f"*)                   echo c ;;
	*"freed[tlb_f"*|*"tlb_f[s]==fr"*) echo b ;;
	*"deleted"*)                  echo e ;;
	*)                            echo "?" ;;
	esac
}

# pan: safety only (assertions + invalid end states), exhaustive with state-vector
# compression; 1 GiB cap so that a search that would need more fails instead.
PAN_CFLAGS="-O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM=1024"
PAN_FLAGS="-m2000000 -w24"
LIMIT=300          # seconds per check, a hang guard only (checks take seconds)

names() { printf '%s\n' "$CHECKS" | cut -d'|' -f1; }
fail_all() {
	echo "# spin: $1"
	i=0
	for n in $(names); do i=$((i + 1)); echo "not ok $i $n"; done
	exit 1
}
echo "TAP version 13"
echo "1..$(names | grep -c .)"

if ! command -v spin >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "# spin: spin not found, installing it (apt-get install -y spin)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y spin >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y spin >/dev/null 2>&1; }
	fi
	command -v spin >/dev/null 2>&1 ||
		fail_all "spin is not installed (as root: apt-get install -y spin)"
fi
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || fail_all "no C compiler ($CC) to build spin's verifier"
[ -f "$model" ] || fail_all "model not found: $model"

mkdir -p "$build" || fail_all "cannot create $build"
tmp=$(mktemp -d "$build/run.XXXXXX") || fail_all "cannot create a temporary directory in $build"

now() { date +%s.%N 2>/dev/null || date +%s; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

failed=0
i=0
start_all=$(now)
# Each check: spin -a (generate pan.c), cc, pan. A here-document keeps the loop in
# this shell, so $failed survives it.
while IFS='|' read -r name expect defs; do
	[ -n "$name" ] || continue
	dir="$tmp/$name"
	mkdir -p "$dir"
	t0=$(now)
	ok=1
	(cd "$dir" && spin $defs -a "$model") >"$dir/spin.log" 2>&1 || ok=0
	if [ $ok -eq 1 ]; then
		(cd "$dir" && $CC $PAN_CFLAGS -o pan pan.c) >"$dir/cc.log" 2>&1 || ok=0
	fi
	if [ $ok -eq 1 ]; then
		if [ $have_timeout -eq 1 ]; then
			(cd "$dir" && timeout $LIMIT ./pan $PAN_FLAGS) >"$dir/pan.log" 2>&1
		else
			(cd "$dir" && ./pan $PAN_FLAGS) >"$dir/pan.log" 2>&1
		fi
		rc=$?
		[ $rc -eq 124 ] && echo "# spin: $name timed out after ${LIMIT}s"
	else
		echo "# spin: $name could not be built (see $dir/*.log)"
	fi
	t1=$(now)
	log="$dir/pan.log"
	states=$(awk '/states, stored/ { print $1; exit }' "$log" 2>/dev/null)
	trans=$(awk '/transitions \(= stored\+matched\)/ { print $1; exit }' "$log" 2>/dev/null)
	depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
	mem=$(awk '/total actual memory usage/ { print $1; exit }' "$log" 2>/dev/null)
	search=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
	echo "# spin: $name states=${states:-?} transitions=${trans:-?} depth=${depth:-?} memory=${mem:-?}MB search=${search:-?}s total=$(elapsed "$t0" "$t1")s ($defs)"

	# A search that stopped early proves nothing.
	incomplete=0
	grep -qE 'max search depth too small|reached -DMEMLIM bound|out of memory|Search not completed' "$log" 2>/dev/null &&
		incomplete=1
	verdict=FAIL
	case "$expect" in
	ok)
		if [ $ok -eq 1 ] && [ "$errors" = "0" ] && [ $incomplete -eq 0 ] &&
		   grep -q 'Full statespace search' "$log"; then
			verdict=PASS
		else
			found=$(grep -m 1 -E '^pan:[0-9]+: (assertion violated|invalid end state)' "$log" 2>/dev/null |
				sed 's/^pan:[0-9]*: //; s/ *(at depth.*//')
			if [ -n "$found" ]; then
				echo "# spin: $name found: property ($(property "$found")): $found"
			elif [ $incomplete -eq 1 ]; then
				echo "# spin: $name search incomplete (depth or memory bound)"
			fi
		fi
		;;
	*)
		found=$(grep -m 1 -E '^pan:[0-9]+: (assertion violated|invalid end state)' "$log" 2>/dev/null |
			sed 's/^pan:[0-9]*: //; s/ *(at depth.*//')
		if [ -z "$found" ]; then
			echo "# spin: $name: no violation found, but the variant is broken"
		else
			prop=$(property "$found")
			echo "# spin: $name found: property ($prop): $found"
			case "$expect" in
			*"$prop"*) [ $ok -eq 1 ] && verdict=PASS ;;
			*) echo "# spin: $name expected a violation of ($expect)" ;;
			esac
		fi
		;;
	esac
	i=$((i + 1))
	if [ $verdict = PASS ]; then
		echo "ok $i $name"
	else
		echo "not ok $i $name"
		failed=1
	fi
done <<EOF
$CHECKS
EOF

echo "# spin: all checks took $(elapsed "$start_all" "$(now)")s"
if [ $failed -eq 0 ]; then
	rm -rf "$tmp"
else
	echo "# spin: logs and trails kept in $tmp"
fi
exit $failed
