package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// endpoint serves a fresh Client on 127.0.0.1 and returns an ECS client of
// aws-sdk-go-v2 pointed at it, signing with key:secret.
func endpoint(t testing.TB, opts ecsapi.Options, key, secret string) (*ecs.Client, *stevedore.Client, *stevedore.ManualClock) {
	t.Helper()
	clock := stevedore.NewManualClock(t0)
	c, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	require.NoError(t, err)
	srv := httptest.NewServer(ecsapi.NewHandler(c, opts)) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	client := ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   sdkHTTP(keepAlive(srv.Client().Transport)),
		Retryer:      aws.NopRetryer{},
	})
	return client, c, clock
}

// TestWalkthroughThroughTheSDK: the whitepaper's walkthrough with the real
// ECS client: two instances of 1024 CPU and 996 MiB, the nginx task
// definition, two tasks on different instances, the third RESOURCE:CPU.
func TestWalkthroughThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, _, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("Walkthrough")})
	require.NoError(t, err)
	for _, id := range []string{"i-c5690f29", "i-d8f1a2b3"} {
		_, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster:                  aws.String("Walkthrough"),
			InstanceIdentityDocument: aws.String(stevedore.IdentityDocument(id, "t2.micro", "us-east-1a")),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 996},
			},
		})
		require.NoError(t, err)
	}
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("nginx"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("nginx"), Image: aws.String("nginx"), Cpu: 1000, Memory: aws.Int32(500),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80)}},
		}},
	})
	require.NoError(t, err)
	var instances []string
	for i := range 3 {
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("Walkthrough"), TaskDefinition: aws.String("nginx")})
		require.NoError(t, err)
		if i == 2 {
			require.Empty(t, out.Tasks)
			require.Len(t, out.Failures, 1)
			assert.Equal(t, "RESOURCE:CPU", aws.ToString(out.Failures[0].Reason))
			break
		}
		require.Len(t, out.Tasks, 1)
		task := out.Tasks[0]
		assert.Equal(t, "PENDING", aws.ToString(task.LastStatus))
		assert.Equal(t, t0, aws.ToTime(task.CreatedAt).UTC(), "timestamps arrive as the SDK reads them")
		instances = append(instances, aws.ToString(task.ContainerInstanceArn))
	}
	assert.NotEqual(t, instances[0], instances[1])
	d, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("Walkthrough"), ContainerInstances: instances})
	require.NoError(t, err)
	for _, ci := range d.ContainerInstances {
		left := map[string]int32{}
		for _, r := range ci.RemainingResources {
			left[aws.ToString(r.Name)] = r.IntegerValue
		}
		assert.Equal(t, map[string]int32{"CPU": 24, "MEMORY": 496, "PORTS": 0, "PORTS_UDP": 0}, left)
	}
}

// TestErrorsThroughTheSDK: ECS's exceptions arrive as the SDK's typed errors.
func TestErrorsThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, c, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	// app has an instance and a deleted service, svc a live service.
	// (ClusterContainsTasksException cannot arise in the model: a task runs
	// on an instance, and a cluster with instances is refused first.)
	for _, name := range []string{"app", "svc"} {
		_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		require.NoError(t, err)
	}
	reg, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app", TotalResources: stevedore.TotalResources(1024, 1024)})
	require.NoError(t, err)
	instance := reg.ContainerInstance.ContainerInstanceArn
	td, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "w", "containerDefinitions": [{"name": "w", "image": "w", "cpu": 1, "memory": 1}]}`))
	require.NoError(t, err)
	_, err = c.RegisterTaskDefinition(ctx, td)
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "gone", TaskDefinition: "w", DesiredCount: new(0)})
	require.NoError(t, err)
	_, err = c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app", Service: "gone"})
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "svc", ServiceName: "live", TaskDefinition: "w", DesiredCount: new(0)})
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		call  func() error
		check func(t *testing.T, err error)
	}{
		{"ClusterNotFoundException", func() error {
			_, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("nope")})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ClusterNotFoundException
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.ErrorMessage(), "nope")
		}},
		{"InvalidParameterException", func() error {
			_, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("app"), TaskDefinition: aws.String("x"), Count: aws.Int32(11)})
			return err
		}, func(t *testing.T, err error) {
			var e *types.InvalidParameterException
			require.ErrorAs(t, err, &e)
		}},
		{"ClientException", func() error {
			_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx")}}})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ClientException
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.ErrorMessage(), "memory")
		}},
		{"ServiceNotFoundException", func() error {
			_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("app"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ServiceNotFoundException
			require.ErrorAs(t, err, &e)
		}},
		{"ServiceNotActiveException", func() error {
			_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("app"), Service: aws.String("gone"), DesiredCount: aws.Int32(1)})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ServiceNotActiveException
			require.ErrorAs(t, err, &e)
		}},
		{"TargetNotFoundException", func() error {
			_, err := client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("app"), Attributes: []types.Attribute{{Name: aws.String("a"),
				TargetType: types.TargetTypeContainerInstance, TargetId: aws.String("arn:aws:ecs:us-east-1:123456789012:container-instance/app/0123456789abcdef0123456789abcdef")}}})
			return err
		}, func(t *testing.T, err error) {
			var e *types.TargetNotFoundException
			require.ErrorAs(t, err, &e)
		}},
		{"AttributeLimitExceededException", func() error {
			var attrs []types.Attribute
			for i := range 10 {
				attrs = append(attrs, types.Attribute{Name: aws.String(fmt.Sprintf("custom-%d", i)), TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(instance)})
			}
			if _, err := client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("app"), Attributes: attrs}); err != nil {
				return err
			}
			_, err := client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("app"), Attributes: []types.Attribute{{Name: aws.String("one-more"), TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(instance)}}})
			return err
		}, func(t *testing.T, err error) {
			var e *types.AttributeLimitExceededException
			require.ErrorAs(t, err, &e)
		}},
		{"ClusterContainsContainerInstancesException", func() error {
			_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("app")})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ClusterContainsContainerInstancesException
			require.ErrorAs(t, err, &e)
		}},
		{"ClusterContainsServicesException", func() error {
			_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("svc")})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ClusterContainsServicesException
			require.ErrorAs(t, err, &e)
		}},
		{"ResourceNotFoundException", func() error {
			_, err := client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/nope")})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ResourceNotFoundException
			require.ErrorAs(t, err, &e)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			tc.check(t, err)
			var api smithy.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, tc.name, api.ErrorCode())
		})
	}
}

// TestPaginatorThroughTheSDK: the SDK's paginator walks ListTasks' pages.
func TestPaginatorThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, c, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{TotalResources: stevedore.TotalResources(1<<20, 1<<20)})
	require.NoError(t, err)
	td, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "tiny", "containerDefinitions": [{"name": "t", "image": "t", "cpu": 1, "memory": 1}]}`))
	require.NoError(t, err)
	_, err = c.RegisterTaskDefinition(ctx, td)
	require.NoError(t, err)
	started, err := c.RunTaskAll(ctx, &stevedore.RunTaskInput{TaskDefinition: "tiny", Count: 237})
	require.NoError(t, err)
	require.Len(t, started.Tasks, 237)
	p := ecs.NewListTasksPaginator(client, &ecs.ListTasksInput{MaxResults: aws.Int32(50)})
	var arns []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		arns = append(arns, page.TaskArns...)
		pages++
	}
	assert.Equal(t, 5, pages)
	assert.Len(t, arns, 237)
}

// TestSignatures: with credentials, a request signed by the key is served;
// one signed with a wrong secret, by an unknown key, or not at all is
// refused with ECS's exceptions and changes nothing.
func TestSignatures(t *testing.T) {
	ctx := t.Context()
	opts := ecsapi.Options{Credentials: map[string]string{"AKIDGOOD": "good-secret"}, Region: "us-east-1"}
	good, c, _ := endpoint(t, opts, "AKIDGOOD", "good-secret")
	_, err := good.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("signed")})
	require.NoError(t, err, "a good signature is served")

	srvURL := aws.ToString(good.Options().BaseEndpoint)
	for _, tc := range []struct {
		name, key, secret, code string
	}{
		{"wrong secret", "AKIDGOOD", "bad-secret", "InvalidSignatureException"},
		{"unknown key", "AKIDNOPE", "good-secret", "UnrecognizedClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srvURL),
				Credentials: credentials.NewStaticCredentialsProvider(tc.key, tc.secret, ""), Retryer: aws.NopRetryer{},
				HTTPClient: sdkHTTP(http.DefaultTransport)})
			_, err := bad.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("forged")})
			var api smithy.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, tc.code, api.ErrorCode())
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srvURL+"/", bytes.NewReader([]byte(`{"clusterName": "forged"}`)))
		require.NoError(t, err)
		req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+".CreateCluster")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, string(body), "UnrecognizedClientException")
	})
	out, err := c.ListClusters(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"arn:aws:ecs:us-east-1:123456789012:cluster/signed"}, out.ClusterArns, "refused requests changed nothing")
}

// TestExpiredSignature: a signature more than 15 minutes from the server's
// clock is refused.
func TestExpiredSignature(t *testing.T) {
	ctx := t.Context()
	opts := ecsapi.Options{Credentials: map[string]string{"AKIDGOOD": "good-secret"}, Clock: func() time.Time { return time.Now().Add(20 * time.Minute) }}
	client, _, _ := endpoint(t, opts, "AKIDGOOD", "good-secret")
	_, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, "InvalidSignatureException", api.ErrorCode())
	assert.Contains(t, api.ErrorMessage(), "Signature expired")
}

// TestServiceRolloutThroughTheSDK: a service created and rolled to a new
// revision with the SDK, the agents and the service scheduler ticking on
// the test's clock, until DescribeServices shows the deployment completed.
func TestServiceRolloutThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, c, clock := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("app")})
	require.NoError(t, err)
	for i := range 3 {
		_, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster:                  aws.String("app"),
			InstanceIdentityDocument: aws.String(stevedore.IdentityDocument("i-000000"+string(rune('a'+i)), "m5.large", "us-east-1"+string(rune('a'+i%2)))),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			},
		})
		require.NoError(t, err)
	}
	var revisions []string
	for _, image := range []string{"web:1", "web:2"} {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Cpu: 512, Memory: aws.Int32(512),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80)}}}},
		})
		require.NoError(t, err)
		revisions = append(revisions, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("app"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(revisions[0]), DesiredCount: aws.Int32(2)})
	require.NoError(t, err)
	a := agents{ecs: c, startDelay: time.Second}
	describe := func() types.Service {
		d, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("app"), Services: []string{"web"}})
		require.NoError(t, err)
		require.Len(t, d.Services, 1)
		return d.Services[0]
	}
	tick := func(until func(types.Service) bool) types.Service {
		for range 30 {
			clock.Advance(time.Second)
			require.NoError(t, a.step(ctx, clock.Now()))
			if s := describe(); until(s) {
				return s
			}
		}
		t.Fatalf("the service did not get there: %+v", describe())
		return types.Service{}
	}
	s := tick(func(s types.Service) bool { return s.RunningCount == 2 })
	assert.Equal(t, "COMPLETED", string(s.Deployments[0].RolloutState))

	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("app"), Service: aws.String("web"), TaskDefinition: aws.String(revisions[1])})
	require.NoError(t, err)
	s = tick(func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && aws.ToString(s.Deployments[0].TaskDefinition) == revisions[1]
	})
	assert.Equal(t, int32(2), s.RunningCount)
	assert.Equal(t, revisions[1], aws.ToString(s.TaskDefinition))
	var messages []string
	for _, e := range s.Events {
		messages = append(messages, aws.ToString(e.Message))
	}
	assert.Contains(t, messages, "(service web) has reached a steady state.")
	assert.False(t, aws.ToTime(s.Events[0].CreatedAt).IsZero(), "event times arrive")
}

// TestServiceDecodersTakeTheWholeAPI: every member of aws-sdk-go-v2's
// CreateServiceInput and UpdateServiceInput decodes (JSON names are the
// SDK's field names with a lower-case first letter); a misspelt one does
// not.
func TestServiceDecodersTakeTheWholeAPI(t *testing.T) {
	members := func(v any) []byte {
		m := map[string]any{}
		for f := range reflect.TypeOf(v).Fields() {
			if f.IsExported() {
				m[strings.ToLower(f.Name[:1])+f.Name[1:]] = nil
			}
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	create, err := stevedore.DecodeCreateServiceInput(members(ecs.CreateServiceInput{}))
	require.NoError(t, err)
	assert.Contains(t, create.Unmodelled, "deploymentController")
	update, err := stevedore.DecodeUpdateServiceInput(members(ecs.UpdateServiceInput{}))
	require.NoError(t, err)
	assert.Contains(t, update.Unmodelled, "deploymentController")
	assert.NotContains(t, update.Unmodelled, "capacityProviderStrategy", "modelled now")
	_, err = stevedore.DecodeCreateServiceInput([]byte(`{"serviceName": "a", "DeploymentController": {}}`))
	var ce *stevedore.ClientException
	require.ErrorAs(t, err, &ce, "names are case-sensitive")
	assert.Contains(t, ce.ErrorMessage(), `"DeploymentController"`)
}

// TestSignedQuery: a request whose query string the SDK's signer
// canonicalised (names sorted before values) verifies.
func TestSignedQuery(t *testing.T) {
	opts := ecsapi.Options{Credentials: map[string]string{"AKIDGOOD": "good-secret"}}
	client, _, _ := endpoint(t, opts, "AKIDGOOD", "good-secret")
	url := aws.ToString(client.Options().BaseEndpoint) + "/?a=1&a-b=2"
	body := []byte(`{}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+".ListClusters")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256(body)
	require.NoError(t, v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: "AKIDGOOD", SecretAccessKey: "good-secret"},
		req, hex.EncodeToString(sum[:]), "ecs", "us-east-1", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
}
