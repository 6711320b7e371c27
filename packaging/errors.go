package packaging

import (
	"errors"
	"fmt"
)

// ErrorKind says why packaging failed, so the activity layer can map it to a contract error type.
type ErrorKind string

// The kinds. Permanent ones fail the same way on every attempt; the others may pass on a retry.
const (
	// KindModelNotFound (permanent): the model URI does not resolve in MLflow.
	KindModelNotFound ErrorKind = "ModelNotFound"
	// KindUnsupportedFlavour (permanent): the model has no python_function flavour, or is not an
	// MLflow model at all, so the bento cannot serve it.
	KindUnsupportedFlavour ErrorKind = "UnsupportedFlavour"
	// KindInvalidRequest (permanent): the request itself is malformed (bento tag, empty model URI).
	KindInvalidRequest ErrorKind = "InvalidRequest"
	// KindRegistryDenied (permanent): the OCI registry refused the push or pull (401, 403,
	// UNAUTHORIZED, DENIED).
	KindRegistryDenied ErrorKind = "RegistryDenied"
	// KindRegistryRejected (permanent): the OCI registry rejected the request otherwise (another
	// 4xx: an invalid name, manifest or tag).
	KindRegistryRejected ErrorKind = "RegistryRejected"
	// KindTagConflict (permanent): the image tag already holds an artifact built from another
	// model; tags are never overwritten.
	KindTagConflict ErrorKind = "TagConflict"
	// KindRegistryUnavailable (transient): the OCI registry kept failing (network errors, 5xx,
	// 429) through every attempt.
	KindRegistryUnavailable ErrorKind = "RegistryUnavailable"
	// KindMLflowDenied (permanent): MLflow refused the build's credentials (401, 403): see
	// MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.
	KindMLflowDenied ErrorKind = "MLflowDenied"
	// KindMLflowUnavailable (transient): MLflow could not be reached or answered 5xx.
	KindMLflowUnavailable ErrorKind = "MLflowUnavailable"
	// KindBuildFailed (transient): the bento build failed for another reason (see the message and
	// the script's stderr tail).
	KindBuildFailed ErrorKind = "BuildFailed"
)

// Error is a packaging failure of a known kind. errors.As(err, &*Error) finds it through wrapping.
type Error struct {
	Kind ErrorKind
	Op   string // what was being done, e.g. "build bento e2i_7_model:v3"
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string {
	s := e.Op + ": " + string(e.Kind)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help.
func (e *Error) Permanent() bool {
	switch e.Kind {
	case KindModelNotFound, KindUnsupportedFlavour, KindInvalidRequest, KindRegistryDenied,
		KindRegistryRejected, KindTagConflict, KindMLflowDenied:
		return true
	}
	return false
}

// KindOf returns the kind of a packaging error anywhere in err's chain, or "" if there is none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func newError(kind ErrorKind, op, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf(format, args...)}
}
