package ring

import (
	"errors"
	"fmt"
	"os"
)

// MaxSize is the largest ring the kernel makes: a ring's size is its map's
// max_entries, a u32 that must be a power of two.
const MaxSize = 1 << 31

// ErrSize is returned for a ring size the kernel would refuse.
var ErrSize = errors.New("bad ring size")

// CheckSize refuses a ring size the kernel would: it must be a power of two
// (so a whole number of pages), at least a page and at most MaxSize.
func CheckSize(n int64) error {
	page := int64(os.Getpagesize())
	switch {
	case n < page:
		return fmt.Errorf("%w: %d bytes is less than a page (%d)", ErrSize, n, page)
	case n > MaxSize:
		return fmt.Errorf("%w: %d bytes is more than the kernel's largest ring (%d, 2G)", ErrSize, n, int64(MaxSize))
	case n&(n-1) != 0:
		return fmt.Errorf("%w: %d bytes is not a power of two (e.g. 8M, 16M)", ErrSize, n)
	}
	return nil
}
