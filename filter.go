package stevedore

import (
	"errors"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// compileFilter compiles a ListContainerInstances filter; an empty filter
// matches everything (nil).
func compileFilter(filter string) (func(*cluster.Instance) bool, error) {
	if filter == "" {
		return nil, nil
	}
	expr, err := placement.ParseExpression(filter)
	if err != nil {
		var se *placement.SyntaxError
		if errors.As(err, &se) {
			return nil, invalidParameter(err, "filter: %v", err)
		}
		return nil, invalidParameter(err, "filter: %v", err)
	}
	return func(in *cluster.Instance) bool { return expr.Match(in) }, nil
}
