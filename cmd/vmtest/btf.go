package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf/btf"
)

// writeKernelBTF writes the BTF of a kernel image (default: the Debian
// kernel's) to out.
func writeKernelBTF(a arch, kernel, release, cache, out string) error {
	if kernel == "" {
		var err error
		if kernel, err = debianKernel(a, release, cache); err != nil {
			return err
		}
	}
	blob, err := kernelBTF(kernel)
	if err != nil {
		return fmt.Errorf("%s: %w", kernel, err)
	}
	if err := os.WriteFile(out, blob, 0o644); err != nil {
		return err
	}
	fmt.Printf("vmtest: wrote %d bytes of BTF from %s to %s\n", len(blob), kernel, out)
	return nil
}

// errNoBTF is a kernel image in which no BTF was found.
var errNoBTF = errors.New("no BTF in the kernel image")

// kernelBTF returns a kernel's BTF: the .BTF section of an ELF vmlinux,
// or, in a raw image such as arm64's Image (no sections), the one blob with
// a well-formed BTF header that parses whole.
func kernelBTF(image string) ([]byte, error) {
	if f, err := elf.Open(image); err == nil {
		defer f.Close()
		s := f.Section(".BTF")
		if s == nil {
			return nil, errNoBTF
		}
		return s.Data()
	}
	img, err := os.ReadFile(image)
	if err != nil {
		return nil, err
	}
	for off := 0; ; off++ {
		i := bytes.Index(img[off:], btfMagic)
		if i < 0 {
			return nil, errNoBTF
		}
		off += i
		if blob, ok := btfAt(img, off); ok {
			return blob, nil
		}
	}
}

// btfMagic is a little-endian BTF header's magic (0xeB9F), version 1 and
// flags 0.
var btfMagic = []byte{0x9f, 0xeb, 1, 0}

// btfAt returns the BTF blob whose header starts at off, if the header is
// that of a whole vmlinux BTF (types, then strings) and the blob parses.
func btfAt(img []byte, off int) ([]byte, bool) {
	const hdrLen = 24
	if len(img)-off < hdrLen {
		return nil, false
	}
	h := img[off:]
	le := binary.LittleEndian
	if le.Uint32(h[4:]) != hdrLen {
		return nil, false
	}
	typeOff, typeLen := le.Uint32(h[8:]), le.Uint32(h[12:])
	strOff, strLen := le.Uint32(h[16:]), le.Uint32(h[20:])
	if typeOff != 0 || strOff != typeLen || strLen == 0 {
		return nil, false
	}
	size := uint64(hdrLen) + uint64(strOff) + uint64(strLen)
	if size > uint64(len(img)-off) {
		return nil, false
	}
	blob := img[off : off+int(size)]
	if _, err := btf.LoadSpecFromReader(bytes.NewReader(blob)); err != nil {
		return nil, false
	}
	return blob, true
}
