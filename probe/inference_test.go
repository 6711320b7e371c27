package probe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const twoRows = `{"rows": [{"f0": 0.0}, {"f0": 1.5}]}`

// reply is one canned answer of the fake model server's /predict.
type reply struct {
	code  int
	body  string
	delay time.Duration
	to    string // a Location: the answer is a redirect there
}

// modelServer is a fake bento: /readyz answers readyCode, /predict the replies in turn (the last
// repeats), /elsewhere counts visits (a followed redirect would land there).
type modelServer struct {
	*httptest.Server
	predicts, elsewhere atomic.Int32
	gotBody, gotType    atomic.Value
}

func newModelServer(t *testing.T, readyCode int, replies ...reply) *modelServer {
	m := &modelServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(readyCode)
		case "/elsewhere":
			m.elsewhere.Add(1)
			_, _ = io.WriteString(w, `{"predictions": [1, 0]}`)
		case "/predict":
			b, _ := io.ReadAll(r.Body)
			m.gotBody.Store(string(b))
			m.gotType.Store(r.Header.Get("Content-Type") + " " + r.Method)
			n := int(m.predicts.Add(1)) - 1
			rp := replies[min(n, len(replies)-1)]
			time.Sleep(rp.delay)
			if rp.to != "" {
				http.Redirect(w, r, rp.to, rp.code)
				return
			}
			w.WriteHeader(rp.code)
			_, _ = io.WriteString(w, rp.body)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func TestHTTPCheckInference(t *testing.T) {
	ok := reply{code: 200, body: `{"predictions": [1, 0]}`}
	tests := []struct {
		name        string
		readyCode   int
		replies     []reply
		body        string // "" = no predict body
		wantHealthy bool
		wantChecked bool
		wantPosts   int
		wantErr     string // in Result.Error and Inference.Error
		wantPreds   int
	}{
		{"200 with one prediction a row", 200, []reply{ok}, twoRows, true, true, 1, "", 2},
		{"records as predictions", 200, []reply{{code: 200, body: `{"predictions": [{"p": 1}, {"p": 0}]}`}}, twoRows, true, true, 1, "", 2},
		{"500: the fault switch", 200, []reply{{code: 500, body: `{"error": "fault injected by TD_FAULT=error"}`}}, twoRows, false, true, 3, "HTTP 500, want 200: {\"error\": \"fault injected", 0},
		{"recovers after a 503", 200, []reply{{code: 503}, ok}, twoRows, true, true, 2, "", 2},
		{"predictions not an array", 200, []reply{{code: 200, body: `{"predictions": {"a": 1}}`}}, twoRows, false, true, 3, `"predictions" is not an array`, 0},
		{"predictions null", 200, []reply{{code: 200, body: `{"predictions": null}`}}, twoRows, false, true, 3, `"predictions" is not an array`, 0},
		{"no predictions field", 200, []reply{{code: 200, body: `{"result": [1, 0]}`}}, twoRows, false, true, 3, `no "predictions"`, 0},
		{"not JSON", 200, []reply{{code: 200, body: `<html>ok</html>`}}, twoRows, false, true, 3, "not JSON: <html>", 0},
		{"JSON but not an object", 200, []reply{{code: 200, body: `[1, 0]`}}, twoRows, false, true, 3, "not a JSON object", 0},
		{"wrong count", 200, []reply{{code: 200, body: `{"predictions": [1]}`}}, twoRows, false, true, 3, "1 predictions for 2 rows", 1},
		{"every attempt times out", 200, []reply{{code: 200, body: `{"predictions": [1, 0]}`, delay: 300 * time.Millisecond}}, twoRows, false, true, 3, "deadline exceeded", 0},
		{"redirect not followed", 200, []reply{{code: 307, to: "/elsewhere"}}, twoRows, false, true, 3, `HTTP 307, a redirect to "/elsewhere" (not followed)`, 0},
		// the answer goes to history and the ledger: a signed or credentialled Location is redacted
		{"redirect to a signed URL", 200, []reply{{code: 302, to: "https://u:pw-Secret@blob.example/m?X-Amz-Signature=sig-Secret&part=1"}}, twoRows, false, true, 3,
			`a redirect to "https://u:xxxxx@blob.example/m?X-Amz-Signature=xxxxx&part=1" (not followed)`, 0},
		{"no body: readiness only", 200, []reply{ok}, "", true, false, 0, "", 0},
		{"not ready: no inference sent", 503, []reply{ok}, twoRows, false, false, 0, "GET", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newModelServer(t, tt.readyCode, tt.replies...)
			p, err := NewHTTP(100*time.Millisecond, 3, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			target := Target{HealthURL: srv.URL + "/readyz", PredictURL: srv.URL + "/predict"}
			if tt.body != "" {
				target.PredictBody = json.RawMessage(tt.body)
			}
			res, err := p.Check(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			inf := res.Inference
			if inf == nil {
				t.Fatalf("no inference result: %+v", res)
			}
			if res.Healthy != tt.wantHealthy || inf.Checked != tt.wantChecked || int(srv.predicts.Load()) != tt.wantPosts {
				t.Fatalf("healthy %v checked %v posts %d (%s / %s), want %v %v %d",
					res.Healthy, inf.Checked, srv.predicts.Load(), res.Error, inf.Error, tt.wantHealthy, tt.wantChecked, tt.wantPosts)
			}
			if tt.wantErr == "" && (res.Error != "" || inf.Error != "") {
				t.Fatalf("errors %q / %q on a healthy result", res.Error, inf.Error)
			}
			if !strings.Contains(res.Error, tt.wantErr) {
				t.Fatalf("Result.Error %q, want it to contain %q", res.Error, tt.wantErr)
			}
			checkInference(t, tt.wantChecked, tt.wantHealthy, tt.wantPreds, tt.wantPosts, target, inf, srv)
		})
	}
}

// checkInference checks the InferenceResult and what the server received.
func checkInference(t *testing.T, checked, healthy bool, preds, posts int, target Target, inf *InferenceResult, srv *modelServer) {
	t.Helper()
	if srv.elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	if inf.URL != target.PredictURL || inf.Predictions != preds || inf.Attempts != posts {
		t.Fatalf("inference %+v, want url %s, %d predictions, %d attempts", inf, target.PredictURL, preds, posts)
	}
	if !checked {
		if inf.Note == "" {
			t.Fatal("inference not sent, and the result does not say why")
		}
		return
	}
	if inf.OK != healthy || inf.RowsSent != 2 {
		t.Fatalf("inference %+v: want ok %v, 2 rows sent", inf, healthy)
	}
	if !healthy && !strings.Contains(inf.Error, "POST "+target.PredictURL) {
		t.Fatalf("inference error %q does not name the URL", inf.Error)
	}
	if healthy && inf.ResponseTime <= 0 {
		t.Fatalf("response time not measured: %v", inf.ResponseTime)
	}
	if got := srv.gotBody.Load(); got != twoRows {
		t.Fatalf("server got body %q, want %q", got, twoRows)
	}
	if got := srv.gotType.Load(); got != "application/json POST" {
		t.Fatalf("server got %q, want application/json POST", got)
	}
	if _, err := json.Marshal(inf); err != nil {
		t.Fatalf("inference result is not JSON-safe: %v", err)
	}
}

func TestHTTPCheckReadinessRedirectNotFollowed(t *testing.T) {
	var landed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			landed.Add(1)
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	p, _ := NewHTTP(time.Second, 2, time.Millisecond)
	res, err := p.Check(context.Background(), Target{HealthURL: srv.URL + "/readyz"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Healthy || res.StatusCode != http.StatusFound || landed.Load() != 0 {
		t.Fatalf("got %+v after %d visits to /login, want unhealthy with HTTP 302 and none", res, landed.Load())
	}
	if !strings.Contains(res.Error, `redirect to "/login" (not followed)`) {
		t.Fatalf("error %q does not say the redirect was not followed", res.Error)
	}
}

func TestHTTPCheckRefusesBadPredictTargets(t *testing.T) {
	p, _ := NewHTTP(time.Second, 1, 0)
	health := "http://127.0.0.1:1/readyz"
	for _, tc := range []struct {
		name   string
		target Target
	}{
		{"bad predict url", Target{HealthURL: health, PredictURL: "ftp://x/predict", PredictBody: json.RawMessage(twoRows)}},
		{"body without a url", Target{HealthURL: health, PredictBody: json.RawMessage(twoRows)}},
		{"body not JSON", Target{HealthURL: health, PredictURL: "http://x/predict", PredictBody: json.RawMessage(`{"rows": [`)}},
		{"body without rows", Target{HealthURL: health, PredictURL: "http://x/predict", PredictBody: json.RawMessage(`{"inputs": [[1]]}`)}},
		{"no rows", Target{HealthURL: health, PredictURL: "http://x/predict", PredictBody: json.RawMessage(`{"rows": []}`)}},
	} {
		if _, err := p.Check(context.Background(), tc.target); err == nil {
			t.Errorf("%s: want an error", tc.name)
		}
	}
}

func TestHTTPCheckWithoutPredictURLHasNoInference(t *testing.T) {
	srv := newModelServer(t, 200, reply{code: 200, body: `{"predictions": [1, 0]}`})
	p, _ := NewHTTP(time.Second, 1, 0)
	res, err := p.Check(context.Background(), Target{HealthURL: srv.URL + "/readyz"})
	if err != nil || !res.Healthy || res.Inference != nil || srv.predicts.Load() != 0 {
		t.Fatalf("got %+v, %v after %d predicts; want healthy, no inference", res, err, srv.predicts.Load())
	}
}

func TestHTTPCheckInferenceCancelled(t *testing.T) {
	srv := newModelServer(t, 200, reply{code: 500})
	p, _ := NewHTTP(time.Second, 5, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Check(ctx, Target{HealthURL: srv.URL + "/readyz", PredictURL: srv.URL + "/predict", PredictBody: json.RawMessage(twoRows)})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s, want the context's error promptly", err, time.Since(start))
	}
}
