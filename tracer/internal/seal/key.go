package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Labels keep the HMAC derivations apart (domain separation).
const (
	labelEpoch = "nstrace seal v1: next epoch key"
	labelRun   = "nstrace seal v1: run key"
	labelNext  = "nstrace seal v1: next seal key"
	labelID    = "nstrace seal v1: key id"
)

// VerificationKey is the initial key k0 of a key file. The operator keeps it
// off the machine; from it every later key is derived.
type VerificationKey struct{ k [32]byte }

// vkPrefix starts a verification key in its text form.
const vkPrefix = "nsvk1-"

// ErrWrongKeyFormat says the text given is no verification key.
var ErrWrongKeyFormat = errors.New("not a verification key (want nsvk1- and 64 hex digits)")

// ParseVerificationKey reads the text form String prints.
func ParseVerificationKey(s string) (VerificationKey, error) {
	var vk VerificationKey
	digits, ok := strings.CutPrefix(strings.TrimSpace(s), vkPrefix)
	if !ok || len(digits) != 64 {
		return vk, ErrWrongKeyFormat
	}
	if _, err := hex.Decode(vk.k[:], []byte(digits)); err != nil {
		return vk, ErrWrongKeyFormat
	}
	return vk, nil
}

func (vk VerificationKey) String() string { return vkPrefix + hex.EncodeToString(vk.k[:]) }

// ID names the key without revealing it: seals carry it, so that verify
// can tell a wrong key from a forged seal.
func (vk VerificationKey) ID() string {
	var id [32]byte
	derive(&vk.k, labelID, &id)
	return hex.EncodeToString(id[:8])
}

// runKey derives the first seal key of the run that started at epoch.
func (vk VerificationKey) runKey(epoch uint64) [32]byte {
	k := vk.k
	for range epoch {
		derive(&k, labelEpoch, &k)
	}
	var r [32]byte
	derive(&k, labelRun, &r)
	clear(k[:])
	return r
}

// derive sets out to HMAC-SHA256(key, label); out may be key.
func derive(key *[32]byte, label string, out *[32]byte) {
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(label))
	m.Sum(out[:0])
}

// RunKey is what a recorder seals with: the first seal key of its run,
// which ratchets forward at every seal, and what names it in the seals.
type RunKey struct {
	ID    string // the key file's ID (VerificationKey.ID)
	Epoch uint64 // the key file's epoch this run took
	key   [32]byte
}

// keyFile is the text of a key file: the current epoch's key only.
type keyFile struct {
	id    string
	epoch uint64
	key   [32]byte
}

const keyFileMagic = "nstrace sealing key v1"

// format writes a fixed-length text, so that overwriting one in place
// covers all of the other's bytes.
func (kf *keyFile) format() []byte {
	return fmt.Appendf(nil, "%s\nid %s\nepoch %020d\nkey %s\n", keyFileMagic, kf.id, kf.epoch, hex.EncodeToString(kf.key[:]))
}

func parseKeyFile(b []byte) (*keyFile, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 4 || lines[0] != keyFileMagic {
		return nil, errors.New("not an nstrace sealing key file")
	}
	kf := &keyFile{}
	id, ok1 := strings.CutPrefix(lines[1], "id ")
	epoch, ok2 := strings.CutPrefix(lines[2], "epoch ")
	key, ok3 := strings.CutPrefix(lines[3], "key ")
	var err error
	kf.epoch, err = strconv.ParseUint(epoch, 10, 64)
	if !ok1 || !ok2 || !ok3 || len(id) != 16 || err != nil || len(key) != 64 {
		return nil, errors.New("damaged nstrace sealing key file")
	}
	if _, err := hex.Decode(kf.key[:], []byte(key)); err != nil {
		return nil, errors.New("damaged nstrace sealing key file")
	}
	kf.id = id
	return kf, nil
}

// CreateKeyFile makes a new sealing key at path (mode 0600, never over an
// existing file) and returns its verification key, for the operator to
// keep elsewhere: whoever holds it can verify, and forge, seals.
func CreateKeyFile(path string) (VerificationKey, error) {
	var vk VerificationKey
	if _, err := rand.Read(vk.k[:]); err != nil {
		return vk, fmt.Errorf("create sealing key: %w", err)
	}
	kf := &keyFile{id: vk.ID(), key: vk.k}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return vk, fmt.Errorf("create sealing key %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	text := kf.format()
	clear(kf.key[:])
	_, err = f.Write(text)
	clear(text)
	if err = errors.Join(err, f.Sync(), f.Close(), syncDir(path)); err != nil {
		os.Remove(path)
		return vk, fmt.Errorf("create sealing key %s: %w", path, err)
	}
	return vk, nil
}

// TakeRunKey starts a run with the key file at path: it derives the run's
// first seal key from the file's key, then replaces the file's key with the
// next epoch's (new file, fsync, rename) and overwrites the old file's
// bytes, so that the machine no longer holds anything that seals this run
// or an earlier one. A restart takes the next epoch.
func TakeRunKey(path string) (RunKey, error) {
	f, err := lockKeyFile(path)
	if err != nil {
		return RunKey{}, fmt.Errorf("sealing key %s: %w", path, err)
	}
	defer f.Close()
	rk, err := evolve(f, path)
	if err != nil {
		return RunKey{}, fmt.Errorf("sealing key %s: %w", path, err)
	}
	return rk, nil
}

// lockKeyFile opens the key file and locks it, so that two recorders never
// take the same epoch; it opens again when another one replaced the file
// while this one waited.
func lockKeyFile(path string) (*os.File, error) {
	for tries := 0; tries < 10; tries++ {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(fd), path)
		var st, now unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			f.Close()
			return nil, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			f.Close()
			return nil, errors.New("not a regular file")
		}
		if st.Mode&0o077 != 0 {
			f.Close()
			return nil, fmt.Errorf("mode %#o: others may read it; chmod 600 it (and make a new key: this one may have leaked)", st.Mode&0o777)
		}
		if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		if unix.Stat(path, &now) == nil && now.Ino == st.Ino && now.Dev == st.Dev {
			return f, nil
		}
		f.Close() // replaced while waiting: take the new one
	}
	return nil, errors.New("replaced over and over while waiting for it")
}

// evolve does TakeRunKey's work on the locked file f.
func evolve(f *os.File, path string) (RunKey, error) {
	var buf [512]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && n == 0 {
		return RunKey{}, err
	}
	kf, err := parseKeyFile(bytes.TrimRight(buf[:n], "\x00"))
	clear(buf[:])
	if err != nil {
		return RunKey{}, err
	}
	rk := RunKey{ID: kf.id, Epoch: kf.epoch}
	derive(&kf.key, labelRun, &rk.key)
	derive(&kf.key, labelEpoch, &kf.key)
	kf.epoch++
	text := kf.format()
	clear(kf.key[:])
	defer clear(text)

	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".next")
	os.Remove(tmp) // a crash's leftover
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return RunKey{}, err
	}
	nf := os.NewFile(uintptr(fd), tmp)
	_, err = nf.Write(text)
	if err = errors.Join(err, nf.Sync(), nf.Close()); err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return RunKey{}, err
	}
	if err := syncDir(path); err != nil {
		return RunKey{}, err
	}
	// The old inode is unlinked but still open here: overwrite its bytes.
	zero := make([]byte, n)
	_, err = f.WriteAt(zero, 0)
	return rk, errors.Join(err, f.Sync())
}

func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
