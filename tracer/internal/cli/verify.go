package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/seal"
)

func newVerifyCommand() *cobra.Command {
	var key, newKey string
	cmd := &cobra.Command{
		Use:   "verify FILE... [--key KEY]",
		Short: "Check a sealed recording: where it was changed, or that it was not",
		Long: `Check the seals of a recording (trace -w writes them unless --seal=false):
every line is covered, in order, by a chain of seals, and the parts of a
rotated recording follow one another. Give the files in order. One line
per problem says where (file, part, line) and what; a recording that
ends without its trailer says when it was last sealed and how many seal
epochs are missing up to now. Exit 0 when everything verifies, 1
otherwise. Without --key, or for a recording made without
--seal-key-file, the chain is checked (integrity) but not who sealed it
(authenticity).

--new-key KEYFILE creates a sealing key for this host (mode 0600) and
prints its verification key: keep that off the machine.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if newKey != "" {
				if len(args) > 0 || key != "" {
					return usageError{errors.New("--new-key takes no files and no --key")}
				}
				return createSealKey(newKey, os.Stdout, os.Stderr)
			}
			if len(args) == 0 {
				return usageError{errors.New("verify needs the files of a recording, in order")}
			}
			return runVerify(args, key, os.Stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "verification key (nsvk1-...), or a file holding it")
	fl.StringVar(&newKey, "new-key", "", "create a sealing key file here and print its verification key")
	return cmd
}

func createSealKey(path string, stdout, stderr io.Writer) error {
	vk, err := seal.CreateKeyFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, vk)
	fmt.Fprintf(stderr, "nstrace: sealing key written to %s (key %s); keep the verification key above off this machine: "+
		"nstrace verify --key KEY checks recordings made with trace --seal-key-file %s\n",
		render.Sanitize(path), vk.ID(), render.Sanitize(path))
	return nil
}

// runVerify prints each problem, or the one-line summary when there is none.
func runVerify(args []string, keyArg string, stdout io.Writer) error {
	var key *seal.VerificationKey
	if keyArg != "" {
		k, err := readVerificationKey(keyArg)
		if err != nil {
			return usageError{fmt.Errorf("--key: %w", err)}
		}
		key = &k
	}
	paths, err := expandPaths(args)
	if err != nil {
		return err
	}
	res, err := seal.VerifyFiles(paths, key, nil)
	if err != nil {
		return fmt.Errorf("verify %w", err)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stdout, render.Sanitize(p.String()))
	}
	if res.Dropped > 0 {
		fmt.Fprintf(stdout, "... and %d more problems\n", res.Dropped)
	}
	if !res.OK() {
		return fmt.Errorf("NOT verified: %s", verdict(res))
	}
	fmt.Fprintln(stdout, res.Summary())
	return nil
}

// verdict sums the problems up: tampering, or only lines left unsealed.
func verdict(res *seal.Result) string {
	n := len(res.Problems) + res.Dropped
	unsealed := 0
	for _, p := range res.Problems {
		if p.Unsealed {
			unsealed++
		}
	}
	if unsealed == n {
		return "records at the end are unsealed (the recorder was stopped before sealing them); everything sealed checks"
	}
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

// readVerificationKey takes the key itself or a file holding it, so that
// it need not show on a command line.
func readVerificationKey(arg string) (seal.VerificationKey, error) {
	if strings.HasPrefix(arg, "nsvk1-") {
		return seal.ParseVerificationKey(arg)
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return seal.VerificationKey{}, fmt.Errorf("not a key (nsvk1-...) and not a readable file: %w", err)
	}
	return seal.ParseVerificationKey(string(b))
}
