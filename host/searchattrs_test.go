package host

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// fakeOperator answers the two calls EnsureSearchAttributes makes.
type fakeOperator struct {
	have            []string
	listErr, addErr error
	listNS, addNS   string
	added           []string
}

func (f *fakeOperator) ListSearchAttributes(_ context.Context, r *operatorservice.ListSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	f.listNS = r.Namespace
	if f.listErr != nil {
		return nil, f.listErr
	}
	custom := map[string]enumspb.IndexedValueType{}
	for _, n := range f.have {
		custom[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: custom}, nil
}

func (f *fakeOperator) AddSearchAttributes(_ context.Context, r *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f.addNS = r.Namespace
	for n := range r.SearchAttributes {
		f.added = append(f.added, n)
	}
	return &operatorservice.AddSearchAttributesResponse{}, f.addErr
}

// TestEnsureSearchAttributes: missing attributes are added in the worker's namespace; an operator
// API that is refused (Temporal Cloud) lets the worker start with a warning naming them, unless
// attributes are known missing and may not be added; other failures stop it.
func TestEnsureSearchAttributes(t *testing.T) {
	all := contract.SearchAttributeNames
	denied := serviceerror.NewPermissionDenied("operator API not allowed", "")
	cases := []struct {
		name             string
		op               *fakeOperator
		wantAdded        int
		wantErr, wantLog string
	}{
		{"all there: nothing added", &fakeOperator{have: all}, 0, "", ""},
		{"two missing: added", &fakeOperator{have: all[:2]}, len(all) - 2, "", "search attributes registered"},
		{"listing refused (Temporal Cloud): a warning naming them", &fakeOperator{listErr: denied}, 0, "", all[0]},
		{"operator API unimplemented: a warning", &fakeOperator{listErr: serviceerror.NewUnimplemented("no")}, 0, "", "operator API is refused"},
		{"listing fails otherwise: an error", &fakeOperator{listErr: serviceerror.NewUnavailable("down")}, 0, "list search attributes in namespace ml.acct", ""},
		{"missing and adding refused: an error naming them", &fakeOperator{have: all[1:], addErr: denied}, 1, "lacks the search attributes " + all[0], ""},
		{"added by another worker meanwhile", &fakeOperator{addErr: serviceerror.NewAlreadyExists("x")}, len(all), "", "by another worker"},
		{"adding fails otherwise: an error", &fakeOperator{addErr: serviceerror.NewUnavailable("down")}, len(all), "register search attributes", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			err := EnsureSearchAttributes(context.Background(), tc.op, "ml.acct", slog.New(slog.NewTextHandler(&logs, nil)))
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if len(tc.op.added) != tc.wantAdded {
				t.Errorf("added %v, want %d", tc.op.added, tc.wantAdded)
			}
			if tc.op.listNS != "ml.acct" || (tc.wantAdded > 0 && tc.op.addNS != "ml.acct") {
				t.Errorf("listed in %q, added in %q: want ml.acct", tc.op.listNS, tc.op.addNS)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log %q, want %q", logs.String(), tc.wantLog)
			}
		})
	}
}
