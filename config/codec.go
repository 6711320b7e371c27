package config

import "strings"

// CodecConfig configures payload encryption (package codec) and the codec server that opens
// payloads for the Web UI and the temporal CLI (cmd/codec-server).
type CodecConfig struct {
	// Keys (DEPLOYER_CODEC_KEYS, default none: payloads in the clear) is the keyring file,
	// {"keys":[{"id":…,"key":<base64 of 32 bytes>}, …]}, oldest first: the last key seals, all open.
	// The worker, tdctl and the codec server read it; set on one, it must be set on all of them.
	Keys string
	// Addr (DEPLOYER_CODEC_ADDR, default 127.0.0.1:8081) is where the codec server listens.
	Addr string
	// Token (DEPLOYER_CODEC_TOKEN, default none) is the bearer token the codec server asks of every
	// request; without one it listens only on a loopback address.
	Token string
	// Origins (DEPLOYER_CODEC_ORIGINS, comma-separated, default the dev server's Web UI:
	// http://127.0.0.1:8233,http://localhost:8233) are the browser origins CORS lets in.
	Origins []string
}

// DefaultCodec is the codec configuration with no environment overrides.
func DefaultCodec() CodecConfig {
	return CodecConfig{Addr: "127.0.0.1:8081", Origins: []string{"http://127.0.0.1:8233", "http://localhost:8233"}}
}

func (r *reader) codec(c *CodecConfig) {
	r.str("DEPLOYER_CODEC_KEYS", &c.Keys)
	r.str("DEPLOYER_CODEC_ADDR", &c.Addr)
	r.str("DEPLOYER_CODEC_TOKEN", &c.Token)
	if v, ok := r.raw("DEPLOYER_CODEC_ORIGINS"); ok {
		c.Origins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.Origins = append(c.Origins, strings.TrimRight(o, "/"))
			}
		}
	}
}
