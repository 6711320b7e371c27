package host

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
)

// ClientOptions are how the worker and every project tool reach Temporal: the SDK's environment
// configuration (contrib/envconfig), as the temporal CLI reads it. A profile (TEMPORAL_PROFILE,
// default "default") of the TOML file TEMPORAL_CONFIG_FILE (default <user config
// dir>/temporalio/temporal.toml), overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH (mTLS),
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_GRPC_META_*. With none
// of them: the local dev server, cfg's address and namespace (127.0.0.1:7233, default). With a
// codec keyring (DEPLOYER_CODEC_KEYS) every payload and failure message is sealed (package codec);
// a keyring that does not load is an error, never a connection in the clear. tel, when not nil,
// adds the tracing interceptor and the metrics handler it has (package telemetry).
func ClientOptions(cfg config.Config, lookup envconfig.EnvLookup, log *slog.Logger, tel *telemetry.Telemetry) (client.Options, error) {
	o, err := connection(cfg, lookup)
	if err != nil {
		return client.Options{}, err
	}
	o.Logger = tlog.NewStructuredLogger(log)
	if cfg.Codec.Keys != "" {
		ring, err := codec.LoadKeyring(cfg.Codec.Keys)
		if err != nil {
			return client.Options{}, err
		}
		o.DataConverter = codec.DataConverter(codec.New(ring))
		o.FailureConverter = codec.FailureConverter(o.DataConverter)
	}
	tel.Apply(&o)
	return o, nil
}

// connection is the address, namespace and credentials ClientOptions dials.
func connection(cfg config.Config, lookup envconfig.EnvLookup) (client.Options, error) {
	o, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: lookup})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal connection (TEMPORAL_* variables, TEMPORAL_CONFIG_FILE): %w", err)
	}
	if o.HostPort == "" {
		o.HostPort = cfg.TemporalAddress
	}
	if o.Namespace == "" {
		o.Namespace = cfg.TemporalNamespace
	}
	return o, nil
}

// Reached is cfg with TemporalAddress and TemporalNamespace set to what ClientOptions dials (a
// profile's address and namespace, TEMPORAL_* over them), so that the start log and the
// namespace the search attributes are checked in are the ones the worker polls.
func Reached(cfg config.Config, lookup envconfig.EnvLookup) (config.Config, error) {
	o, err := connection(cfg, lookup)
	if err != nil {
		return cfg, err
	}
	cfg.TemporalAddress, cfg.TemporalNamespace = o.HostPort, o.Namespace
	return cfg, nil
}

// Dial connects to Temporal as ClientOptions say, the environment read through lookup.
func Dial(ctx context.Context, cfg config.Config, lookup envconfig.EnvLookup, log *slog.Logger, tel *telemetry.Telemetry) (client.Client, error) {
	o, err := ClientOptions(cfg, lookup, log, tel)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s (namespace %s, %s): %w", o.HostPort, o.Namespace, transport(o), err)
	}
	return c, nil
}

// transport names how a connection was attempted, so a refusal that reaches the client only as a
// closed connection (TLS 1.3 reports a missing client certificate after the handshake) still
// says what the client presented.
func transport(o client.Options) string {
	switch t := o.ConnectionOptions.TLS; {
	case t == nil:
		return "plaintext"
	case len(t.Certificates) == 0 && t.GetClientCertificate == nil:
		return "tls, no client certificate"
	default:
		return "tls, client certificate"
	}
}
