#!/bin/sh
# The guest side of `make vmtest`: runs each Go test binary shipped into
# /vmtest (PACKAGE.test, the package's path with _ for /) from the
# package's source directory under $VMTEST_SRC, where the testdata is, with
# the arguments given; runs them all even after one fails, and exits 1 if
# any failed.
status=0
for t in /vmtest/*.test; do
	pkg=${t##*/}
	pkg=${pkg%.test}
	dir=$VMTEST_SRC/$(echo "$pkg" | tr _ /)
	echo "=== vmtest: package $pkg"
	mkdir -p "$dir" && cd "$dir" || exit 1
	"$t" "$@" || status=1
done
exit $status
