#!/bin/sh
# The guest side of `make vmtest`: runs each Go test binary shipped into
# /vmtest (PACKAGE.test), from /vmtest/PACKAGE where the package's testdata
# is, with the arguments given; runs them all even after one fails, and
# exits 1 if any failed.
status=0
for t in /vmtest/*.test; do
	pkg=${t##*/}
	pkg=${pkg%.test}
	echo "=== vmtest: package $pkg"
	mkdir -p "/vmtest/$pkg" && cd "/vmtest/$pkg" || exit 1
	"$t" "$@" || status=1
done
exit $status
