package export

import "encoding/binary"

// Field numbers of the OTLP messages written here, from
// opentelemetry/proto/{collector/logs,logs,common,resource}/v1 (the
// go.opentelemetry.io/proto/otlp types; a test decodes what is written
// with them).
const (
	fReqResourceLogs = 1 // ExportLogsServiceRequest.resource_logs

	fRLResource  = 1 // ResourceLogs.resource
	fRLScopeLogs = 2 // ResourceLogs.scope_logs
	fResAttrs    = 1 // Resource.attributes
	fSLScope     = 1 // ScopeLogs.scope
	fSLRecords   = 2 // ScopeLogs.log_records
	fScopeName   = 1 // InstrumentationScope.name

	fLRTime         = 1  // LogRecord.time_unix_nano, fixed64
	fLRSeverity     = 2  // LogRecord.severity_number
	fLRSeverityText = 3  // LogRecord.severity_text
	fLRBody         = 5  // LogRecord.body
	fLRAttrs        = 6  // LogRecord.attributes
	fLRObserved     = 11 // LogRecord.observed_time_unix_nano, fixed64
	fLREventName    = 12 // LogRecord.event_name

	fKVKey   = 1 // KeyValue.key
	fKVValue = 2 // KeyValue.value

	fAVString = 1 // AnyValue.string_value
	fAVBool   = 2 // AnyValue.bool_value
	fAVInt    = 3 // AnyValue.int_value
	fAVDouble = 4 // AnyValue.double_value, fixed64
	fAVArray  = 5 // AnyValue.array_value
	fAVKvlist = 6 // AnyValue.kvlist_value
	fValues   = 1 // ArrayValue.values, KeyValueList.values

	fRespPartial  = 1 // ExportLogsServiceResponse.partial_success
	fPartialCount = 1 // ExportLogsPartialSuccess.rejected_log_records
	fPartialMsg   = 2 // ExportLogsPartialSuccess.error_message
)

// Protocol buffer wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(appendTag(b, field, wireVarint), v)
}

func appendFixed64Field(b []byte, field int, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(appendTag(b, field, wireFixed64), v)
}

func appendBytesField[T string | []byte](b []byte, field int, s T) []byte {
	b = binary.AppendUvarint(appendTag(b, field, wireBytes), uint64(len(s)))
	return append(b, s...)
}

// openField starts a length-delimited field whose length is not known
// yet: one byte is kept for it, and closeField makes room for more when
// the contents need it.
func openField(b []byte, field int) ([]byte, int) {
	b = appendTag(b, field, wireBytes)
	return append(b, 0), len(b)
}

func closeField(b []byte, mark int) []byte {
	if n := len(b) - mark - 1; n < 0x80 { // most values: kept small enough to inline
		b[mark] = byte(n)
		return b
	}
	return closeLength(b, mark, 1)
}

// openWide is openField for a field whose contents are likely past 127
// bytes (a log record, its body): two bytes are kept for the length, so
// closeWide moves the contents only when they are under 128 bytes or
// past 16 KiB. What is written is the same as with openField.
func openWide(b []byte, field int) ([]byte, int) {
	b = appendTag(b, field, wireBytes)
	return append(b, 0, 0), len(b)
}

func closeWide(b []byte, mark int) []byte { return closeLength(b, mark, 2) }

// closeLength writes, at mark, the length of what follows the kept bytes
// there as a varint, moving the contents when it takes fewer or more
// bytes than were kept.
func closeLength(b []byte, mark, kept int) []byte {
	n := len(b) - mark - kept
	switch k := uvarintLen(uint64(n)); {
	case k < kept:
		copy(b[mark+k:], b[mark+kept:])
		b = b[:len(b)-(kept-k)]
	case k > kept:
		b = append(b, make([]byte, k-kept)...)
		copy(b[mark+k:], b[mark+kept:mark+kept+n])
	}
	binary.PutUvarint(b[mark:], uint64(n))
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
