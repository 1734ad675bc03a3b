package main

import (
	"bytes"
	"io"
	"net/http"
)

// sdkHTTP is the HTTP client the tests give aws-sdk-go-v2: rt, with each
// request's body sent from a copy in memory.
//
// smithy-go closes a request's body as soon as Do returns a response. When
// the server answers before net/http has made its last read of that body
// (its check that nothing follows Content-Length), the read fails on the
// closed body, net/http closes the connection, and a response body over
// its 4 KiB read buffer is cut: "deserialization failed … use of closed
// network connection" (aws/aws-sdk-go-v2#1825). A local server is fast
// enough to lose that race about once in twenty runs. A body net/http
// knows to be in memory is never closed under it; the bytes on the wire,
// and the signature, are the same.
func sdkHTTP(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: bufferedBodies{rt}}
}

type bufferedBodies struct{ rt http.RoundTripper }

func (b bufferedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.rt.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context()) // a RoundTripper leaves its request as it was given
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return b.rt.RoundTrip(c)
}
