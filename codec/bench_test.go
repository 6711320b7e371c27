package codec

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"
)

// BenchmarkConverter: a deployment's input-sized value (about 1 KB of JSON) to a payload and
// back, with the SDK's converter in the clear and sealed with the codec.
func BenchmarkConverter(b *testing.B) {
	value := map[string]any{"model_uri": "runs:/8777c660c4a248fdbaf66f12fbf0e4c0/model", "deployment_name": "fraud",
		"validation_metrics": map[string]float64{"accuracy": 0.93}, "notes": strings.Repeat("x", 800)}
	for _, tc := range []struct {
		name string
		dc   converter.DataConverter
	}{
		{"clear", converter.GetDefaultDataConverter()},
		{"sealed", DataConverter(New(&Keyring{keys: []Key{{ID: "k1", Secret: make([]byte, KeySize)}}}))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := tc.dc.ToPayload(value)
				if err != nil {
					b.Fatal(err)
				}
				var back map[string]any
				if err := tc.dc.FromPayload(p, &back); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
