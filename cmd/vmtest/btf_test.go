package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// A raw kernel image (arm64's Image) has no sections: the BTF is found by
// its header, past bytes that only look like one.
func TestKernelBTFIsFoundInARawImage(t *testing.T) {
	b, err := btf.NewBuilder([]btf.Type{&btf.Int{Name: "u32", Size: 4}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	decoy := append(append([]byte(nil), btfMagic...), bytes.Repeat([]byte{0xff}, 40)...)
	img := bytes.Join([][]byte{bytes.Repeat([]byte{0x90}, 1000), decoy, blob, bytes.Repeat([]byte{0}, 500)}, nil)
	path := filepath.Join(t.TempDir(), "Image")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := kernelBTF(path)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("kernelBTF = %d bytes, %v; want the %d-byte blob", len(got), err, len(blob))
	}

	if err := os.WriteFile(path, bytes.Repeat([]byte{0x90}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kernelBTF(path); !errors.Is(err, errNoBTF) {
		t.Errorf("kernelBTF of an image without BTF = %v, want errNoBTF", err)
	}
}
