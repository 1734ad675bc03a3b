package stevedore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/instancetypes"
)

// Setting is an ECS account setting.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// PrincipalArn is the account root's ARN: the model keeps one value
	// per setting for the whole account [INF: ECS keeps one per IAM
	// principal, with the account default under them].
	PrincipalArn string `json:"principalArn"`
	Type         string `json:"type"`
}

// The account setting names ECS has; the model acts on awsvpcTrunking and
// keeps the others.
var settingNames = []string{
	"awsvpcTrunking", "containerInsights", "containerInstanceLongArnFormat",
	"defaultLogDriverMode", "fargateFIPSMode", "fargateTaskRetirementWaitPeriod",
	"guardDutyActivate", "serviceLongArnFormat", "tagResourceAuthorization",
	"taskLongArnFormat",
}

// PutAccountSettingInput is the input of [Client.PutAccountSetting] and
// [Client.PutAccountSettingDefault].
type PutAccountSettingInput struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// PrincipalArn is accepted and ignored (see Setting.PrincipalArn).
	PrincipalArn string `json:"principalArn,omitempty"`
}

// PutAccountSettingOutput is the output of [Client.PutAccountSetting].
type PutAccountSettingOutput struct {
	Setting Setting `json:"setting"`
}

// PutAccountSetting sets an account setting. Of ECS's settings the model
// acts on awsvpcTrunking (enabled or disabled): container instances that
// register while it is enabled, of a type that supports trunking, get a
// trunk ENI (attribute ecs.awsvpc-trunk-id) and the type's higher awsvpc
// task limit; instances registered before keep theirs, as in ECS. The
// other settings are kept as given.
func (c *Client) PutAccountSetting(ctx context.Context, in *PutAccountSettingInput) (*PutAccountSettingOutput, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if in == nil {
		in = &PutAccountSettingInput{}
	}
	if !slices.Contains(settingNames, in.Name) {
		return nil, invalidParameter(nil, "name %q is not an account setting; it is one of %s.", in.Name, strings.Join(settingNames, ", "))
	}
	if in.Value == "" {
		return nil, invalidParameter(nil, "value is required.")
	}
	if in.Name == "awsvpcTrunking" && in.Value != "enabled" && in.Value != "disabled" {
		return nil, invalidParameter(nil, "value for awsvpcTrunking must be enabled or disabled, not %q.", in.Value)
	}
	c.settingsMu.Lock()
	if c.settings == nil {
		c.settings = map[string]string{}
	}
	c.settings[in.Name] = in.Value
	c.settingsMu.Unlock()
	return &PutAccountSettingOutput{Setting: c.setting(in.Name, in.Value)}, nil
}

// PutAccountSettingDefault is [Client.PutAccountSetting]: the model keeps
// one value per setting.
func (c *Client) PutAccountSettingDefault(ctx context.Context, in *PutAccountSettingInput) (*PutAccountSettingOutput, error) {
	return c.PutAccountSetting(ctx, in)
}

func (c *Client) setting(name, value string) Setting {
	return Setting{Name: name, Value: value, PrincipalArn: "arn:aws:iam::" + c.opts.AccountID + ":root", Type: "user"}
}

// accountSetting returns a setting's value, "" when it was never set.
func (c *Client) accountSetting(name string) string {
	c.settingsMu.Lock()
	defer c.settingsMu.Unlock()
	return c.settings[name]
}

// ListAccountSettingsInput is the input of [Client.ListAccountSettings].
type ListAccountSettingsInput struct {
	// Name, if not empty, lists only that setting; Value, only settings
	// with that value.
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	// PrincipalArn and EffectiveSettings are accepted; the model keeps one
	// value per setting either way.
	PrincipalArn      string `json:"principalArn,omitempty"`
	EffectiveSettings bool   `json:"effectiveSettings,omitempty"`
	MaxResults        int    `json:"maxResults,omitempty"`
	NextToken         string `json:"nextToken,omitempty"`
}

// ListAccountSettingsOutput is the output of [Client.ListAccountSettings].
type ListAccountSettingsOutput struct {
	Settings  []Setting `json:"settings"`
	NextToken string    `json:"nextToken,omitempty"`
}

// ListAccountSettings lists the account settings that were set, by name.
func (c *Client) ListAccountSettings(ctx context.Context, in *ListAccountSettingsInput) (*ListAccountSettingsOutput, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if in == nil {
		in = &ListAccountSettingsInput{}
	}
	if in.Name != "" && !slices.Contains(settingNames, in.Name) {
		return nil, invalidParameter(nil, "name %q is not an account setting.", in.Name)
	}
	c.settingsMu.Lock()
	out := &ListAccountSettingsOutput{Settings: []Setting{}}
	for _, name := range settingNames {
		v, ok := c.settings[name]
		if ok && (in.Name == "" || in.Name == name) && (in.Value == "" || in.Value == v) {
			out.Settings = append(out.Settings, c.setting(name, v))
		}
	}
	c.settingsMu.Unlock()
	return out, nil
}

// TaskENILimitAttribute is the container instance attribute that gives
// how many awsvpc tasks (task ENIs) the instance can run, for an instance
// whose type the catalogue (package instancetypes) does not know or to
// set another limit; a whole number from 1 to cluster.MaxENIs (Stevedore's
// addition: ECS knows the limit from EC2).
const TaskENILimitAttribute = "stevedore.task-eni-limit"

// TrunkAttribute is the attribute ECS gives a container instance with a
// trunk ENI (awsvpcTrunking).
const TrunkAttribute = "ecs.awsvpc-trunk-id"

// taskENIs returns the awsvpc task limit of an instance registering with
// attrs, first giving it a trunk ENI (the attribute TrunkAttribute) when
// awsvpcTrunking is enabled and its type supports trunking.
func (c *Client) taskENIs(attrs map[string]string) (int, error) {
	if it, ok := instancetypes.Lookup(attrs["ecs.instance-type"]); ok && it.SupportsTrunking() && c.accountSetting("awsvpcTrunking") == "enabled" {
		if _, trunked := attrs[TrunkAttribute]; !trunked {
			c.rndMu.Lock()
			attrs[TrunkAttribute] = fmt.Sprintf("eni-%017x", c.rnd.Uint64())
			c.rndMu.Unlock()
		}
	}
	return eniLimit(attrs)
}

// eniLimit returns an instance's awsvpc task limit from its attributes, 0
// for none known: TaskENILimitAttribute when given; else the catalogue's
// figure for its ecs.instance-type, the trunking one when it has a trunk
// ENI (TrunkAttribute); else no limit [INF].
func eniLimit(attrs map[string]string) (int, error) {
	if v, ok := attrs[TaskENILimitAttribute]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cluster.MaxENIs {
			return 0, invalidParameter(err, "attribute %s must be a whole number from 1 to %d, not %q.", TaskENILimitAttribute, cluster.MaxENIs, v)
		}
		return n, nil
	}
	it, ok := instancetypes.Lookup(attrs["ecs.instance-type"])
	if !ok {
		return 0, nil
	}
	_, trunked := attrs[TrunkAttribute]
	return it.TaskENIs(trunked), nil
}
