// Package encode holds the byte-level forms that the event JSON, the
// session records, the alerts and the text lines share: JSON strings that
// let nothing a process chose reach a reader raw, and fixed-width UTC
// times. Each appends to a caller's buffer and allocates nothing.
package encode
