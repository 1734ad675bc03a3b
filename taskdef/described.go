package taskdef

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes the task definition as ECS does. One the registry
// holds (it has a taskDefinitionArn) is written as DescribeTaskDefinition
// prints it, with ECS's defaults spelled out: every container's cpu (0
// when unset), essential (true when omitted), portMappings (each with its
// protocol, tcp by default), environment, mountPoints, volumesFrom and
// systemControls ([] when empty), and the task definition's volumes and
// placementConstraints ([] when empty). Any other is written as given,
// the shape register-task-definition takes.
func (td TaskDefinition) MarshalJSON() ([]byte, error) {
	if td.TaskDefinitionArn == "" {
		return marshal(plainTaskDefinition(td))
	}
	out := describedTaskDefinition{
		plainTaskDefinition:  plainTaskDefinition(td),
		ContainerDefinitions: make([]describedContainer, len(td.ContainerDefinitions)),
		Volumes:              orEmpty(td.Volumes),
		PlacementConstraints: orEmpty(td.PlacementConstraints),
	}
	for i, c := range td.ContainerDefinitions {
		d := describedContainer{
			plainContainer: plainContainer(c),
			CPU:            c.CPU, Essential: c.IsEssential(),
			PortMappings: make([]PortMapping, len(c.PortMappings)),
			Environment:  orEmpty(c.Environment), MountPoints: orEmpty(c.MountPoints),
			VolumesFrom: orEmpty(c.VolumesFrom), SystemControls: orEmpty(c.SystemControls),
		}
		for j, pm := range c.PortMappings {
			if pm.Protocol == "" {
				pm.Protocol = "tcp"
			}
			d.PortMappings[j] = pm
		}
		out.ContainerDefinitions[i] = d
	}
	return marshal(out)
}

// marshal is json.Marshal without HTML escaping: an encoder that escapes
// (json.Marshal's default) escapes a Marshaler's output itself, and one
// that does not (Encode's) keeps "<" as "<".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type (
	plainTaskDefinition TaskDefinition
	plainContainer      ContainerDefinition
)

// describedTaskDefinition and describedContainer shadow the members ECS
// writes even when empty (encoding/json takes the shallower field).
type describedTaskDefinition struct {
	plainTaskDefinition
	ContainerDefinitions []describedContainer  `json:"containerDefinitions"`
	Volumes              []Volume              `json:"volumes"`
	PlacementConstraints []PlacementConstraint `json:"placementConstraints"`
}

type describedContainer struct {
	plainContainer
	CPU            int             `json:"cpu"`
	PortMappings   []PortMapping   `json:"portMappings"`
	Essential      bool            `json:"essential"`
	Environment    []KeyValuePair  `json:"environment"`
	MountPoints    []MountPoint    `json:"mountPoints"`
	VolumesFrom    []VolumeFrom    `json:"volumesFrom"`
	SystemControls []SystemControl `json:"systemControls"`
}

// orEmpty returns s, or an empty slice for nil, which JSON writes as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
