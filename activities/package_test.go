package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/packaging"
)

type failingPackager struct{ err error }

func (f failingPackager) Package(context.Context, packaging.Request) (packaging.Artifact, error) {
	return packaging.Artifact{}, f.err
}

// TestPackageModelErrors: permanent packaging failures become non-retryable ApplicationErrors
// with the contract's types; transient ones stay retryable.
func TestPackageModelErrors(t *testing.T) {
	perm := func(k packaging.ErrorKind) error {
		return fmt.Errorf("wrapped: %w", &packaging.Error{Kind: k, Op: "build bento e2i_1_model:v1", Msg: "detail"})
	}
	cases := []struct {
		err          error
		wantType     string // "" = a plain, retryable error
		nonRetryable bool
	}{
		{perm(packaging.KindModelNotFound), contract.ErrModelNotFound, true},
		{perm(packaging.KindUnsupportedFlavour), contract.ErrUnsupportedModel, true},
		{perm(packaging.KindRegistryDenied), contract.ErrArtifactRejected, true},
		{perm(packaging.KindRegistryRejected), contract.ErrArtifactRejected, true},
		{perm(packaging.KindTagConflict), contract.ErrArtifactRejected, true},
		{perm(packaging.KindInvalidRequest), contract.ErrInvalidInput, true},
		{perm(packaging.KindRegistryUnavailable), "", false},
		{perm(packaging.KindMLflowUnavailable), "", false},
		{perm(packaging.KindMLflowDenied), contract.ErrRegistryRejected, true},
		{perm(packaging.KindBuildFailed), "", false},
		{errors.New("something else"), "", false},
	}
	for _, tc := range cases {
		a := &Activities{Packager: failingPackager{tc.err}}
		_, err := a.PackageModel(context.Background(), packaging.Request{BentoTag: "e2i_1_model:v1"})
		var app *temporal.ApplicationError
		isApp := errors.As(err, &app)
		switch {
		case err == nil:
			t.Errorf("%v: no error", tc.err)
		case tc.wantType == "" && isApp && app.NonRetryable():
			t.Errorf("%v: became non-retryable %s", tc.err, app.Type())
		case tc.wantType != "" && (!isApp || app.Type() != tc.wantType || app.NonRetryable() != tc.nonRetryable):
			t.Errorf("%v: got %v, want non-retryable %s", tc.err, err, tc.wantType)
		case !errors.Is(err, tc.err) && !errors.As(err, new(*packaging.Error)):
			t.Errorf("%v: cause lost: %v", tc.err, err)
		}
	}
	a := &Activities{}
	_, err := a.PackageModel(context.Background(), packaging.Request{BentoTag: "e2i_1_model:v1"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != contract.ErrBackendNotConfigured {
		t.Errorf("no packager: %v", err)
	}
}
