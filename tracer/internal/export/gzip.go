package export

import (
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // registered first, so that ours replaces it
)

// gzipCompressor is gRPC's "gzip" at the fastest level, with
// klauspost/compress: the standard library's default level took more CPU
// than everything else the sender does. It replaces grpc's own "gzip" for
// the whole process; what it writes is plain gzip, read by any collector.
type gzipCompressor struct {
	writers sync.Pool
}

func init() { encoding.RegisterCompressor(&gzipCompressor{}) }

func (c *gzipCompressor) Name() string { return "gzip" }

type pooledWriter struct {
	*gzip.Writer
	pool *sync.Pool
}

func (w *pooledWriter) Close() error {
	err := w.Writer.Close()
	w.pool.Put(w)
	return err
}

func (c *gzipCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	if z, ok := c.writers.Get().(*pooledWriter); ok {
		z.Reset(w)
		return z, nil
	}
	z, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &pooledWriter{Writer: z, pool: &c.writers}, nil
}

// Decompress reads what a server sends back gzipped: the responses are
// small, so readers are not pooled.
func (c *gzipCompressor) Decompress(r io.Reader) (io.Reader, error) {
	return gzip.NewReader(r)
}
