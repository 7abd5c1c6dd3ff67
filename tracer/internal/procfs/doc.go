// Package procfs reads what nstrace needs of /proc: a task's namespace
// links and mount tables. The scan of the host's namespaces, the resolver
// and the detector all read them through it, so they parse alike.
package procfs
