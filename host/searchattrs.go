package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// SearchAttributes is the part of Temporal's operator API the worker uses (client.OperatorService()).
type SearchAttributes interface {
	ListSearchAttributes(ctx context.Context, in *operatorservice.ListSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error)
	AddSearchAttributes(ctx context.Context, in *operatorservice.AddSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error)
}

var _ SearchAttributes = operatorservice.OperatorServiceClient(nil)

// EnsureSearchAttributes registers the contract's Keyword search attributes in namespace if they
// are missing, through Temporal's operator API. Temporal Cloud does not let workers use that API
// (and a self-hosted cluster may not grant it): when listing is refused, the worker says which
// attributes the namespace needs and goes on, since a run started without them is refused by the
// server, naming the attribute. A refused registration of missing attributes is an error naming them.
func EnsureSearchAttributes(ctx context.Context, op SearchAttributes, namespace string, log *slog.Logger) error {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if operatorRefused(err) {
		log.Warn("cannot check the search attributes: the operator API is refused (as Temporal Cloud refuses it to workers); the namespace needs them as Keyword",
			"namespace", namespace, "search_attributes", strings.Join(contract.SearchAttributeNames, ","), "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("list search attributes in namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var names []string
	for _, name := range contract.SearchAttributeNames {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(names)
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	switch {
	case err == nil:
		log.Info("search attributes registered", "namespace", namespace, "search_attributes", strings.Join(names, ","))
		return nil
	case errors.As(err, &exists):
		log.Info("search attributes registered meanwhile by another worker", "namespace", namespace, "search_attributes", strings.Join(names, ","))
		return nil
	case operatorRefused(err):
		return fmt.Errorf("namespace %s lacks the search attributes %s (Keyword) and the worker may not add them: create them once "+
			"(temporal operator search-attribute create --namespace %s --name NAME --type Keyword; Temporal Cloud: tcld namespace search-attributes add): %w",
			namespace, strings.Join(names, ", "), namespace, err)
	default:
		return fmt.Errorf("register search attributes %s in namespace %s: %w", strings.Join(names, ", "), namespace, err)
	}
}

// operatorRefused: the server answered that this client may not use the operator API.
func operatorRefused(err error) bool {
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	return errors.As(err, &denied) || errors.As(err, &unimplemented)
}
