// Package render writes events for people (aligned text) and for programs
// (JSON Lines). Both writers buffer and allocate nothing per event; call
// Flush when the stream goes quiet.
package render
