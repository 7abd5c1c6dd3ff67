package resolve

// For the kernel test of package resolve_test, which renders this host's scan.
var (
	RequireRoot = requireRoot
	Run         = run
	MustFind    = mustFind
	KernelNsID  = kernelNsID
)
