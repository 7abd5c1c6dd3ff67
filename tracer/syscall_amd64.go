package tracer

// setnsWrapper is the kernel's setns syscall wrapper on this architecture,
// which the fentry set hooks: setns has no ksys_ function of its own.
const setnsWrapper = "__x64_sys_setns"
