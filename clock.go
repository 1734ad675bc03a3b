package stevedore

import (
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Clock tells the time; see [Options.Clock].
type Clock = cluster.Clock

// ManualClock is a [Clock] that moves only when told to, for tests and
// simulations.
type ManualClock = cluster.ManualClock

// NewManualClock returns a [ManualClock] standing at start.
func NewManualClock(start time.Time) *ManualClock { return cluster.NewManualClock(start) }

// DecodeRegisterTaskDefinitionInput decodes the JSON that `aws ecs
// register-task-definition --cli-input-json` takes. As the AWS CLI does, it
// refuses a field it does not know, naming it.
func DecodeRegisterTaskDefinitionInput(data []byte) (*RegisterTaskDefinitionInput, error) {
	td, err := taskdef.Decode(data)
	if err != nil {
		return nil, clientException(err, "%v", err)
	}
	return &RegisterTaskDefinitionInput{TaskDefinition: td}, nil
}
