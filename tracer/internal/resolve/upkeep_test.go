package resolve

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

func TestSelectLowestFindsTheNLowestRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 2, 3, 10, 1000} {
		for _, spread := range []uint64{1, 3, 1 << 40} {
			a := make([]ranked, size)
			for i := range a {
				a[i] = ranked{rank: rng.Uint64N(spread), k: inventory.Key(i)}
			}
			sorted := make([]uint64, size)
			for i := range a {
				sorted[i] = a[i].rank
			}
			slices.Sort(sorted)
			for _, n := range []int{0, size / 3, size / 2, size} {
				b := slices.Clone(a)
				selectLowest(b, n)
				got := make([]uint64, n)
				for i := range got {
					got[i] = b[i].rank
				}
				slices.Sort(got)
				if !slices.Equal(got, sorted[:n]) {
					t.Fatalf("size %d spread %d n %d: lowest %v, want %v", size, spread, n, got, sorted[:n])
				}
			}
		}
	}
}
