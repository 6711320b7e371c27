package packaging

import (
	"fmt"
	"net/http"
)

// InsecureSetting names the worker's setting that allows plain HTTP to an OCI registry.
const InsecureSetting = "DEPLOYER_OCI_INSECURE"

// RegistryTransport is the transport for OCI registry calls. Unless insecure, it refuses every
// plain-HTTP request: go-containerregistry falls back to http:// by itself for localhost,
// 127.0.0.1 and RFC 1918 hosts (name.Registry.Scheme and its ping), and a token realm or a
// redirect may name http:// too. With insecure, requests pass as they are.
func RegistryTransport(next http.RoundTripper, insecure bool) http.RoundTripper {
	if insecure {
		return next
	}
	return httpsOnly{next: next}
}

type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	return h.next.RoundTrip(req)
}

// PlainHTTPError is a plain-HTTP registry request refused because the worker was not configured
// for it. It is permanent: retrying cannot change the configuration.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("plain HTTP to the OCI registry %s refused: set %s=true to allow it (loopback and test registries only)",
		e.Host, InsecureSetting)
}
