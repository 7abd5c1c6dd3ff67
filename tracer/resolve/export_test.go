package resolve

// For the tests of package resolve_test, which render a fake host's scan.
var (
	ScanFake = scanFake
	FakeID   = fakeID

	RequireRoot = requireRoot
	Run         = run
	MustFind    = mustFind
	NsInode     = nsInode
	KernelNsID  = kernelNsID
)
