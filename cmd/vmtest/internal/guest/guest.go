// Package guest is the contract between the vmtest host program and the
// init it boots: where the run's configuration sits in the initramfs and
// how the guest reports the test's exit status on the console.
package guest

import (
	"strconv"
	"strings"
)

// ConfigPath is where the host puts the Config, as JSON, in the initramfs.
const ConfigPath = "/vmtest.json"

// Config tells the guest init what to run.
type Config struct {
	Args []string `json:"args"` // program and arguments; Args[0] is a guest path
	Env  []string `json:"env"`  // the complete environment, "KEY=value"
	Dir  string   `json:"dir"`  // working directory
}

const exitPrefix = "VMTEST-EXIT-STATUS="

// ExitLine is the console line, without newline, by which the guest
// reports the test's exit status.
func ExitLine(status int) string {
	return exitPrefix + strconv.Itoa(status)
}

// ParseExitLine returns the status from a console line holding ExitLine.
// Whatever precedes the marker on the line is ignored, because the
// test's unterminated output or a kernel message can share the line.
func ParseExitLine(line string) (status int, ok bool) {
	i := strings.LastIndex(line, exitPrefix)
	if i < 0 {
		return 0, false
	}
	s := strings.TrimRight(line[i+len(exitPrefix):], "\r\n \t")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, false
	}
	return n, true
}
