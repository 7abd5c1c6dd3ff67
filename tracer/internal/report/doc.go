// Package report renders recorded sessions as one self-contained HTML page:
// a summary of the recording above a timeline with one lane per namespace,
// grouped by type, where creations, joins, failed attempts, losses and
// alerts are marks a person can hover, click, zoom and pan.
//
// The Go side does what needs the whole stream. A Builder is a sink of the
// replay pipeline: it gives every namespace a lane (by its 64-bit ns_id, or
// by inode and generation where the kernel has no id, since inodes are
// reused), labels it from the resolved events, links a join to the lane the
// process came from, and counts. WriteHTML embeds the result as JSON and the
// page's own script draws it, clustering marks that would overlap at the
// current zoom, so a session of 100 000 events stays responsive.
//
// Everything a process or a mount chose (comm, names, container ids) is
// sanitized as in the text output, travels as JSON escaped for HTML, and is
// put into the page with textContent only: it never becomes markup.
package report
