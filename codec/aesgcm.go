package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// The payload format, as Temporal's encryption samples write it: metadata encoding
// "binary/encrypted" and the key's ID; data is the 12-byte nonce followed by the AES-GCM sealed
// bytes of the original payload (protobuf). The key ID is also the additional authenticated data,
// so a payload cannot be relabelled to another key.
const (
	MetadataEncoding       = "encoding"
	MetadataKeyID          = "encryption-key-id"
	EncodingEncrypted      = "binary/encrypted"
	nonceSize              = 12
	ErrTypeUnknownCodecKey = "UnknownCodecKey"
)

// AESGCM is a converter.PayloadCodec that seals payloads under a keyring's newest key.
type AESGCM struct {
	ring *Keyring
}

// New returns the codec for ring.
func New(ring *Keyring) *AESGCM { return &AESGCM{ring: ring} }

var _ converter.PayloadCodec = (*AESGCM)(nil)

// Encode seals every payload under the newest key.
func (c *AESGCM) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	key := c.ring.Newest()
	aead, err := newAEAD(key.Secret)
	if err != nil {
		return nil, err
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(key.ID)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(key.ID)),
		}
	}
	return out, nil
}

// Decode opens every sealed payload with the key its metadata names. A payload that is not
// sealed (a run started before the keyring was configured) passes through as it is.
func (c *AESGCM) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.open(p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *AESGCM) open(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.GetMetadata()[MetadataKeyID])
	key, ok := c.ring.Lookup(id)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("codec: payload sealed under key %q, which the keyring (DEPLOYER_CODEC_KEYS) does not hold (it holds %s)",
				id, strings.Join(c.ring.IDs(), ", ")), ErrTypeUnknownCodecKey, nil)
	}
	if len(p.Data) < nonceSize {
		return nil, fmt.Errorf("codec: payload under key %q is %d bytes, shorter than its nonce", id, len(p.Data))
	}
	aead, err := newAEAD(key.Secret)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, p.Data[:nonceSize], p.Data[nonceSize:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("codec: payload under key %q does not open (another key of that name, or altered): %w", id, err)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("codec: payload under key %q opened but is not a payload: %w", id, err)
	}
	return &d, nil
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	return cipher.NewGCM(block)
}

// DataConverter is the SDK's default converter with every payload passed through c.
func DataConverter(c converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter puts a failure's message and stack trace into its encoded attributes, sealed
// like any payload: error messages name models and URIs too.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}
