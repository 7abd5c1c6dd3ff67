// Package seal makes recordings hold up as evidence: forward-secure seal
// records written among a session's records, and the verifier that checks
// them and says where a recording was changed.
//
// # Keys
//
// `nstrace verify --new-key FILE` (CreateKeyFile) draws a random 32-byte
// key k0, writes it to FILE (mode 0600, never over an existing file) as
// epoch 0, and prints k0 as the verification key (nsvk1-...), which the
// operator keeps off the machine: whoever holds it can check seals, and
// could also forge them. The machine keeps only the key file.
//
// Each recording run (TakeRunKey) takes the file's key k_n and moves the
// file on to epoch n+1, k_{n+1} = HMAC-SHA256(k_n, "next epoch key"): it writes the
// new key to a new file, fsyncs it, renames it over the old one, fsyncs
// the directory, then overwrites the old file's bytes through the
// descriptor it still holds. The run seals with r_0 = HMAC(k_n, "run key"),
// which the file can no longer give. A restart takes the next epoch; the
// file is locked so that two recorders never take the same one. A
// journaling file system, a copy-on-write one or an SSD's flash layer may
// keep the old blocks anyway, as journald's documentation says of its own
// sealing keys; and Go's HMAC copies the key into state this package
// cannot clear, which the garbage collector frees but does not wipe.
//
// # Seals
//
// The run's key ratchets at every seal: seal i is signed with r_i, then
// r_{i+1} = HMAC(r_i, "next seal key") replaces it and r_i is overwritten. So a
// root attacker who takes the machine at time T holds r_j of the next seal
// and k_{n+1} of the next run, from neither of which an earlier key
// follows: seals made before T can not be forged. What they can do is
// delete or rewrite what is not sealed yet (the lines after the last seal
// before T), delete the end of a recording, or start a forged recording
// of their own with the key file (it would carry a later epoch).
//
// A seal record covers every line since the seal before it, byte for byte
// as written (decompressed: compressed, appended and rotated files verify
// the same way), the header of a part included:
//
//	{"event":"seal","time":...,"seq":i,"lines":N,"interval_ms":E,
//	 ["key_id":...,"epoch":n,]"prev":H(i-1),"hash":H(i),"loc":...,
//	 ["end":true,]["mac":...]}
//
// where H(i) = SHA-256(H(i-1) || BLAKE3(the N lines)) chains each seal to
// every line before it (H(-1) is zero), loc holds a CRC-32C of each line
// so that verify can say which line changed (the hash proves, the
// checksums only point), and mac is HMAC-SHA256(r_i, the record up to its
// "mac" field). HMAC-SHA256 both as the MAC and as the one-way function of
// the ratchet; BLAKE3 (github.com/zeebo/blake3) for the lines, for it
// hashes a buffer of records at a few GB/s, where each record's cost
// matters.
//
// The chain is written for every recording, key or not (NewSealer with a
// nil RunKey): such seals carry no key_id, epoch or mac, and prove
// integrity only, an edit anyone could hide by rebuilding the chain. A
// key adds the MACs: authenticity. Readers pass seal records over, older
// ones too (an unknown kind), so the chain costs nothing to reading.
//
// A seal is written after every Options.Every lines (1000), at the first
// flush once an epoch (Options.Interval, 1 s) has passed since the last
// seal, lines or none, and before each part's trailer: that last seal
// ("end":true) also covers the trailer line that follows it, so old
// readers, which stop at a trailer, still read sealed files.
//
// # Truncation
//
// As journald binds its seals to wall-clock epochs, every epoch of a
// running recorder has a seal, and each seal names the epoch's length.
// So a recording that ends without its trailer (and its end seal) is
// reported with its last seal's time and the epochs missing from then up
// to the time of verification: "sealed until 22:05:16Z, nothing after:
// 2040 epochs of 1s missing up to now". A killed recorder and a deleted
// tail read alike; what verify proves is that nothing after that time was
// sealed. Root at time T can delete everything after the last seal
// before T, and, holding the current seal key, seal a new tail from T on
// (even end it with a trailer): it can not make a seal that covers a
// changed line sealed before T.
//
// # Parts
//
// The chain runs on across the parts of a rotated recording: the first
// seal of part k+1 names the last seal of part k as prev, and covers part
// k+1's header, which names its recording (session) and part number. A
// deleted, reordered or replaced part, or one from another recording,
// shows as a break in the part numbers, the session, or the chain. A file
// appended to holds a new session and so a new chain.
//
// # What verify reports
//
// Every problem with its file, line, byte offset and part: a changed,
// missing, inserted or swapped line (located by the checksums within the
// seal that covers it), a missing or misplaced part, a seal that does not
// chain or does not authenticate, a wrong key (told apart from forgery by
// the key ID every seal carries). Lines after the last seal of a part that
// has no trailer (a recorder killed with kill -9) are reported as
// unsealed, not as tampering; so is a torn last line, as truncation after
// the last seal, with that seal's time. Without a key the chain is checked,
// which shows edits but not a forger who rebuilt the chain.
package seal
