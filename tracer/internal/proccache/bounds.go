package proccache

// Bounds of what the kernel sends of a process (bpf/proc.h).
const (
	MaxArgs      = 16   // more are cut, and "args" is marked in event.Process.Truncated
	MaxArgsBytes = 1023 // argv bytes read
	MaxAncestors = 8
)
