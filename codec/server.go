package codec

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// maxRequest bounds a request's body: a few payloads of Temporal's 2 MB blob limit.
const maxRequest = 8 << 20

// ServerOptions configure the codec server: who may ask it to open payloads.
type ServerOptions struct {
	// Token, when set, is the bearer token every /encode and /decode request must carry
	// (the temporal CLI's --codec-auth "Bearer <token>", TEMPORAL_CODEC_AUTH).
	Token string
	// Origins are the browser origins (the Web UI's) allowed by CORS.
	Origins []string
}

// CheckListen refuses to serve decryption without a token beyond this machine: with no token the
// server must listen on a loopback address.
func CheckListen(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("codec server address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("codec server on %s without DEPLOYER_CODEC_TOKEN would open payloads for anyone who reaches it: "+
		"set a token or listen on a loopback address", addr)
}

// Handler serves the SDK's codec endpoints (POST …/encode, …/decode) for c, behind CORS for the
// allowed origins and the bearer check; GET /healthz answers "ok" to anyone.
func Handler(c converter.PayloadCodec, o ServerOptions) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(o.Origins, origin) {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Authorization,Content-Type,X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST,OPTIONS")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if !Authorized(o.Token, r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="codec"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		codec.ServeHTTP(w, r)
	})
}

// Authorized reports whether an Authorization header carries the token (in constant time); with
// no token configured every request is.
func Authorized(token, header string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
