package export

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// client sends one encoded ExportLogsServiceRequest and returns how many
// of its records the collector rejected (an OTLP partial success) with
// its message; an error means nothing was acknowledged.
type client interface {
	export(ctx context.Context, req []byte) (rejected int64, msg string, err error)
	close() error
}

// logsMethod is the OTLP/gRPC logs service's one method.
const logsMethod = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// grpcClient is OTLP/gRPC: the request goes out as the bytes encoded, the
// response is read by parsePartialSuccess.
type grpcClient struct {
	conn *grpc.ClientConn
	md   metadata.MD
	opts []grpc.CallOption
}

func newGRPCClient(c *clientConfig) (*grpcClient, error) {
	creds := insecure.NewCredentials()
	if !c.insecure {
		tc := c.tls
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(c.hostport, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", c.hostport, err)
	}
	g := &grpcClient{conn: conn, md: metadata.New(c.headers), opts: []grpc.CallOption{grpc.ForceCodec(rawCodec{})}}
	if c.gzip {
		g.opts = append(g.opts, grpc.UseCompressor("gzip"))
	}
	return g, nil
}

func (g *grpcClient) export(ctx context.Context, req []byte) (int64, string, error) {
	if len(g.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, g.md)
	}
	var resp rawMessage
	if err := g.conn.Invoke(ctx, logsMethod, rawMessage(req), &resp, g.opts...); err != nil {
		if s, ok := status.FromError(err); ok {
			return 0, "", fmt.Errorf("%s: %s", s.Code(), s.Message())
		}
		return 0, "", err
	}
	return parsePartialSuccess(resp)
}

func (g *grpcClient) close() error { return g.conn.Close() }

// rawMessage is an encoded protobuf message, passed through by rawCodec.
type rawMessage []byte

// rawCodec hands gRPC the request as already encoded, and the response
// back undecoded.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(rawMessage); ok {
		return m, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*m = append((*m)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// httpClient is OTLP/HTTP with binary protobuf.
type httpClient struct {
	url     string
	hc      *http.Client
	headers map[string]string
	gzip    bool
	zips    sync.Pool // *zipBuffer: exports run concurrently
}

// zipBuffer is one request's gzip writer and output.
type zipBuffer struct {
	buf bytes.Buffer
	zw  *gzip.Writer
}

func newHTTPClient(c *clientConfig) *httpClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.tls != nil {
		tr.TLSClientConfig = c.tls
	}
	scheme := "https"
	if c.insecure {
		scheme = "http"
	}
	h := &httpClient{url: scheme + "://" + c.hostport + c.path, hc: &http.Client{Transport: tr},
		headers: c.headers, gzip: c.gzip}
	return h
}

// maxResponse bounds what is read of a response body.
const maxResponse = 64 << 10

func (h *httpClient) export(ctx context.Context, req []byte) (int64, string, error) {
	body := req
	if h.gzip {
		z, _ := h.zips.Get().(*zipBuffer)
		if z == nil {
			z = &zipBuffer{}
			z.zw, _ = gzip.NewWriterLevel(&z.buf, gzip.BestSpeed) // a valid level: no error
		}
		defer h.zips.Put(z)
		z.buf.Reset()
		z.zw.Reset(&z.buf)
		if _, err := z.zw.Write(req); err != nil {
			return 0, "", err
		}
		if err := z.zw.Close(); err != nil {
			return 0, "", err
		}
		body = z.buf.Bytes()
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Content-Type", "application/x-protobuf")
	if h.gzip {
		r.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	resp, err := h.hc.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, "", fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data))
		if resp.Header.Get("Content-Type") == "application/x-protobuf" {
			msg = "" // a google.rpc.Status: its message is field 2
			if m, ok := protoString(data, 2); ok {
				msg = m
			}
		}
		return 0, "", fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return parsePartialSuccess(data)
}

func (h *httpClient) close() error {
	h.hc.CloseIdleConnections()
	return nil
}

// errBadResponse marks a response that is not an ExportLogsServiceResponse.
var errBadResponse = errors.New("collector's response does not decode")

// parsePartialSuccess reads ExportLogsServiceResponse.partial_success.
func parsePartialSuccess(b []byte) (int64, string, error) {
	ps, ok := protoField(b, fRespPartial)
	if !ok {
		return 0, "", nil
	}
	var rejected int64
	var msg string
	for len(ps) > 0 {
		tag, n := binary.Uvarint(ps)
		if n <= 0 {
			return 0, "", errBadResponse
		}
		ps = ps[n:]
		switch {
		case tag == fPartialCount<<3|wireVarint:
			v, n := binary.Uvarint(ps)
			if n <= 0 {
				return 0, "", errBadResponse
			}
			rejected, ps = int64(v), ps[n:]
		case tag&7 == wireBytes:
			l, n := binary.Uvarint(ps)
			if n <= 0 || uint64(len(ps)-n) < l {
				return 0, "", errBadResponse
			}
			if tag>>3 == fPartialMsg {
				msg = string(ps[n : n+int(l)])
			}
			ps = ps[n+int(l):]
		default:
			var ok bool
			if ps, ok = skipField(ps, tag); !ok {
				return 0, "", errBadResponse
			}
		}
	}
	return rejected, msg, nil
}

// protoField returns the contents of the last length-delimited field f of
// message b.
func protoField(b []byte, f uint64) ([]byte, bool) {
	var out []byte
	found := false
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, false
		}
		b = b[n:]
		if tag&7 == wireBytes {
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, false
			}
			if tag>>3 == f {
				out, found = b[n:n+int(l)], true
			}
			b = b[n+int(l):]
			continue
		}
		var ok bool
		if b, ok = skipField(b, tag); !ok {
			return nil, false
		}
	}
	return out, found
}

func protoString(b []byte, f uint64) (string, bool) {
	v, ok := protoField(b, f)
	return string(v), ok
}

// skipField steps over a varint or fixed field.
func skipField(b []byte, tag uint64) ([]byte, bool) {
	switch tag & 7 {
	case wireVarint:
		_, n := binary.Uvarint(b)
		return b[max(n, 0):], n > 0
	case wireFixed64:
		return b[min(8, len(b)):], len(b) >= 8
	case 5: // fixed32
		return b[min(4, len(b)):], len(b) >= 4
	}
	return b, false
}
