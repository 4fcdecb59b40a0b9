#!/bin/sh
# check_seam.sh: the arch seam holds. Arch-neutral code (kern/, lib/, tests/kern/) may
# include only its own headers, include/pagoda/, the C library's freestanding headers,
# and the public arch interface <arch/NAME.h> (arch/$ARCH/include/arch/); no inline
# assembly in kern/. Prints one line; exit status 1 names every violation.
cd "$(dirname "$0")/.." || exit 2
ARCH=${ARCH:-x86_64}
public=$(cd "arch/$ARCH/include/arch" && ls *.h | tr '\n' ' ')
public=${public% }
bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include' kern/*.[ch] lib/*.[ch] tests/kern/*.[ch] | awk -v pub=" $public " '
	{
		line = $0; sub(/^[^#]*#[[:space:]]*include[[:space:]]*/, "", line)
		if (line ~ /^"(kern|lib|include\/pagoda|tests\/kern)\//) next
		if (line ~ /^<(stdint|stddef|stdbool|stdarg|stdatomic|stdalign|stdnoreturn|limits|float|iso646)\.h>/) next
		if (match(line, /^<arch\/[a-z0-9_]+\.h>/)) {
			h = substr(line, 7, RLENGTH - 7)
			if (index(pub, " " h " ")) next
		}
		print
	}')
asm=$(grep -Hn '__asm__\|\basm[[:space:]]*(' kern/*.[ch] tests/kern/*.[ch])
if [ -n "$bad$asm" ]; then
	echo "check_seam: FAIL: arch-private includes or inline assembly outside arch/:"
	[ -n "$bad" ] && echo "$bad"
	[ -n "$asm" ] && echo "$asm"
	exit 1
fi
echo "check_seam: ok: kern/, lib/ and tests/kern/ use only the public arch interface ($public)"
