package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/host"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestEncryptedPayloads: with a codec keyring on the worker and on every client — the temporal CLI
// through the codec server, tdctl, the Python approver, the test's own Go client — a deployment
// goes None → Staging → Shadow → Production through a signed approval. Its history, read raw from
// the server, holds every payload sealed and no model URI, approver, requester or metric in the
// clear; the CLI and the Web UI, through the codec server, show them decoded; a client that lacks
// the sealing key fails naming it, and a worker whose keyring is missing does not start.
func TestEncryptedPayloads(t *testing.T) {
	keys := realparts.WriteCodecKeys(t)
	uiPort, err := realparts.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	codecURL := realparts.StartCodecServer(t, keys.Path, "", fmt.Sprintf("http://127.0.0.1:%d", uiPort))
	tp := realparts.StartTemporalWithUI(t, uiPort, codecURL)
	mlflow := realparts.StartMLflow(t)
	model := realparts.LogSklearnModel(t, mlflow, "codec")
	t.Setenv("DEPLOYER_CODEC_KEYS", keys.Path)    // tdctl and the Python approver seal with it
	t.Setenv("TEMPORAL_CODEC_ENDPOINT", codecURL) // the temporal CLI seals and opens through the codec server
	e := encryptedWorld(t, tp, mlflow, model, keys)
	name := fmt.Sprintf("enc-%d", time.Now().UnixNano()%1e6)
	ids := e.encryptedLadder(t, name)

	for _, id := range ids {
		checkSealedHistory(t, tp.Client, id, []string{model.RunsURI(), "alice@example.com", "approved from Python",
			"e2e@example.com", "accuracy"})
	}
	prod := ids[len(ids)-1]
	t.Run("the CLI through the codec server shows the input decoded; without it, sealed", func(t *testing.T) {
		withCodec := startInput(t, tp.CLI(t, "workflow", "show", "--workflow-id", prod, "--output", "json"))
		if withCodec.encoding != "json/plain" || !strings.Contains(withCodec.data, model.RunsURI()) {
			t.Errorf("temporal workflow show with the codec endpoint: input %+v", withCodec)
		}
		raw := startInput(t, cliWithout(t, tp, "TEMPORAL_CODEC_ENDPOINT", "workflow", "show", "--workflow-id", prod, "--output", "json"))
		if raw.encoding != codec.EncodingEncrypted || strings.Contains(raw.data, model.RunsURI()) {
			t.Errorf("temporal workflow show without a codec: input %+v", raw)
		}
	})
	t.Run("the Web UI through the codec server shows the input decoded", func(t *testing.T) {
		shot := filepath.Join(realparts.Root(), ".cache", "artifacts", "webui-decoded.png")
		dom := realparts.RenderPage(t, tp.UI+"/namespaces/default/workflows/"+prod, shot)
		if !strings.Contains(dom, model.RunsURI()) {
			t.Errorf("the Web UI page of %s does not show the decoded model URI (screenshot %s):\n%.3000s", prod, shot, dom)
		}
		t.Logf("Web UI screenshot: %s", shot)
	})
	t.Run("a client without the sealing key fails naming it", func(t *testing.T) {
		out, code := realparts.TDCtl(t, []string{"TEMPORAL_ADDRESS=" + tp.Address, "DATABASE_URL=" + e.dbURL,
			"DEPLOYER_CODEC_KEYS=" + keys.OldOnly}, "status", prod)
		if code == 0 || !strings.Contains(out, `"`+keys.Newest+`"`) {
			t.Errorf("tdctl status with the old keyring: exit %d\n%s", code, out)
		}
	})
	t.Run("a worker whose keyring is missing does not start", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "absent.json")
		cmd := exec.Command(realparts.WorkerBinary(t))
		cmd.Dir = realparts.Root()
		cmd.Env = append(os.Environ(), append(e.workEnv, "DEPLOYER_CODEC_KEYS="+missing)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("DEPLOYER_CODEC_KEYS")) || !bytes.Contains(out, []byte("absent.json")) {
			t.Errorf("worker with a missing keyring: %v\n%s", err, out)
		}
	})
}

// encryptedWorld is the env of e2e_test.go with a worker and a Go client that seal with keys.
func encryptedWorld(t *testing.T, tp *realparts.Temporal, mlflow string, model realparts.LoggedModel, keys realparts.CodecKeys) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.TemporalAddress, cfg.Codec.Keys = tp.Address, keys.Path
	c, err := host.Dial(context.Background(), cfg, envconfig.EnvLookupOS, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	sealed := *tp
	sealed.Client = c
	e := &env{tp: &sealed, mlflow: mlflow, dbURL: filepath.Join(t.TempDir(), "deployer.db"), model: model,
		approvers: realparts.WriteApprovers(t), ledgerKey: filepath.Join(t.TempDir(), "ledger", "worker.jwk")}
	e.workEnv = []string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + mlflow, "DATABASE_URL=" + e.dbURL,
		e.approvers.Env(), "DEPLOYER_LEDGER_KEY=" + e.ledgerKey, "DEPLOYER_CODEC_KEYS=" + keys.Path,
		"DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=true"} // a registry-only ladder, as TestEndToEnd's
	e.worker = realparts.StartWorker(t, e.workEnv...)
	st, err := store.Open(context.Background(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	return e
}

// encryptedLadder promotes name to Staging and Shadow through the CLI, then to Production with
// the Python service's signed approval; it returns the three runs' IDs.
func (e *env) encryptedLadder(t *testing.T, name string) []string {
	t.Helper()
	var ids []string
	for _, target := range []contract.Environment{contract.EnvStaging, contract.EnvShadow} {
		id := string(target) + "-" + name
		if out, err := e.run(t, id, e.input(name, contract.ActionPromote, target, false)); err != nil {
			t.Fatalf("promote to %s: %+v %v", target, out, err)
		}
		ids = append(ids, id)
	}
	id := "prod-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")
	if out, code := e.tdctl(t, "status", id); code != 0 || !strings.Contains(out, "approval request: promote "+name) {
		t.Fatalf("tdctl status with the keyring: exit %d\n%s", code, out)
	}
	if out, code := approveWithPython(t, e.tp.Address, id, e.approvers.Keys["alice@example.com"], "alice@example.com"); code != 0 {
		t.Fatalf("the Python service's sealed approval: exit %d\n%s", code, out)
	}
	if res, err := e.result(t, id); err != nil || res.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("out %+v err %v", res, err)
	}
	return append(ids, id)
}

// checkSealedHistory reads a run's history with a client that has no codec: every payload outside
// the search attributes (which the server must read to index) is sealed, and none of the secrets
// appears anywhere in the events' bytes.
func checkSealedHistory(t *testing.T, raw client.Client, id string, secrets []string) {
	t.Helper()
	it := raw.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	payloads, events := 0, 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		b, _ := proto.Marshal(ev)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s event %d (%s) holds %q in the clear", id, ev.EventId, ev.EventType, s)
			}
		}
		eachPayload(ev.ProtoReflect(), func(p *commonpb.Payload) {
			payloads++
			if string(p.Metadata[codec.MetadataEncoding]) != codec.EncodingEncrypted {
				t.Errorf("%s event %d (%s): a payload in the clear: %s", id, ev.EventId, ev.EventType, p.Metadata)
			}
		})
	}
	if payloads == 0 {
		t.Fatalf("%s: no payload in %d events", id, events)
	}
	t.Logf("%s: %d events, %d payloads, all sealed", id, events, payloads)
}

// eachPayload calls visit on every Payload in m, except inside SearchAttributes.
func eachPayload(m protoreflect.Message, visit func(*commonpb.Payload)) {
	switch v := m.Interface().(type) {
	case *commonpb.Payload:
		visit(v)
		return
	case *commonpb.SearchAttributes:
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < val.List().Len(); i++ {
				eachPayload(val.List().Get(i).Message(), visit)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			val.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), visit)
				return true
			})
		case fd.Message() != nil && !fd.IsMap() && !fd.IsList():
			eachPayload(val.Message(), visit)
		}
		return true
	})
}

// startInput is the first input payload of `temporal workflow show --output json`: its encoding
// and its data, both base64-decoded.
func startInput(t *testing.T, history string) (in struct{ encoding, data string }) {
	t.Helper()
	var h struct {
		Events []struct {
			Started struct {
				Input struct {
					Payloads []struct {
						Metadata map[string][]byte `json:"metadata"`
						Data     []byte            `json:"data"`
					} `json:"payloads"`
				} `json:"input"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(history), &h); err != nil || len(h.Events) == 0 || len(h.Events[0].Started.Input.Payloads) == 0 {
		t.Fatalf("not a history with a started event and its input (%v):\n%.2000s", err, history)
	}
	p := h.Events[0].Started.Input.Payloads[0]
	in.encoding, in.data = string(p.Metadata["encoding"]), string(p.Data)
	return in
}

// cliWithout runs the temporal CLI against tp with the variable unset.
func cliWithout(t *testing.T, tp *realparts.Temporal, unset string, args ...string) string {
	t.Helper()
	cmd := exec.Command(realparts.VenvBin("temporal"), append(args, "--address", tp.Address)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, unset+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("temporal %v: %v\n%s", args, err, out)
	}
	return string(out)
}
