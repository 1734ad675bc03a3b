package stevedore

import "fmt"

// APIError is implemented by every exception the Client returns, in the
// shape aws-sdk-go-v2 users know from smithy: an ECS error code and a
// message. Match a specific exception with errors.As or errors.AsType
// (errors.AsType[*ClusterNotFoundException](err)), or with errors.Is against
// a zero value (errors.Is(err, &ClusterNotFoundException{})).
//
// # The exceptions
//
// Each exception type is an [Exception] of its own kind, with ECS's name:
//
//   - [ClusterNotFoundException]: the named cluster does not exist (or is
//     INACTIVE).
//   - [InvalidParameterException]: a parameter is invalid — a bad value, a
//     limit exceeded, a task definition that is inactive, an empty cluster
//     on RunTask.
//   - [ClientException]: the request is wrong on the client's side, such as
//     an invalid task definition or an unknown identifier.
//   - [ServiceNotFoundException], [ServiceNotActiveException]: the named
//     service does not exist, or is DRAINING or INACTIVE.
//   - [TargetNotFoundException]: Put/DeleteAttributes named an unknown
//     target.
//   - [AttributeLimitExceededException]: an instance would carry more than
//     10 custom attributes.
//   - [ClusterContainsContainerInstancesException],
//     [ClusterContainsServicesException], [ClusterContainsTasksException]:
//     DeleteCluster on a cluster that is not empty.
//   - [LimitExceededException]: RegisterTaskDefinition over a resource
//     limit (1,000,000 revisions per family).
//   - [ResourceInUseException]: a capacity provider still in use was to be
//     deleted or removed from its cluster;
//   - [ResourceNotFoundException]: a tagging call named a resource that
//     does not exist.
type APIError interface {
	error
	ErrorCode() string
	ErrorMessage() string
}

// Exception is an ECS exception of kind K: its Message, and its cause from
// a lower layer when there is one (reachable with errors.Is and errors.As
// through Unwrap). Use it through the named exceptions (see [APIError]),
// such as *[ClusterNotFoundException]; two exceptions match (errors.Is) when
// they are of the same kind.
type Exception[K exceptionKind] struct {
	// Message is ECS's message text.
	Message string
	// Err is the underlying cause, or nil.
	Err error
}

// exceptionKind names an exception: ECS's error code.
type exceptionKind interface{ code() string }

// Error returns the code and the message.
func (e *Exception[K]) Error() string { return e.ErrorCode() + ": " + e.Message }

// ErrorCode returns ECS's error code, such as "ClusterNotFoundException".
func (e *Exception[K]) ErrorCode() string {
	var k K
	return k.code()
}

// ErrorMessage returns the message.
func (e *Exception[K]) ErrorMessage() string { return e.Message }

// Unwrap returns the cause.
func (e *Exception[K]) Unwrap() error { return e.Err }

// Is reports whether target is an exception of the same kind.
func (e *Exception[K]) Is(target error) bool {
	_, ok := target.(*Exception[K])
	return ok
}

type (
	clusterNotFound                   struct{}
	invalidParameterKind              struct{}
	clientKind                        struct{}
	targetNotFound                    struct{}
	attributeLimitExceeded            struct{}
	clusterContainsContainerInstances struct{}
	clusterContainsTasks              struct{}
	clusterContainsServices           struct{}
	limitExceeded                     struct{}
	serviceNotFound                   struct{}
	serviceNotActive                  struct{}
	resourceNotFound                  struct{}
	resourceInUse                     struct{}
)

func (clusterNotFound) code() string        { return "ClusterNotFoundException" }
func (invalidParameterKind) code() string   { return "InvalidParameterException" }
func (clientKind) code() string             { return "ClientException" }
func (targetNotFound) code() string         { return "TargetNotFoundException" }
func (attributeLimitExceeded) code() string { return "AttributeLimitExceededException" }
func (clusterContainsContainerInstances) code() string {
	return "ClusterContainsContainerInstancesException"
}
func (clusterContainsTasks) code() string    { return "ClusterContainsTasksException" }
func (clusterContainsServices) code() string { return "ClusterContainsServicesException" }
func (limitExceeded) code() string           { return "LimitExceededException" }
func (serviceNotFound) code() string         { return "ServiceNotFoundException" }
func (serviceNotActive) code() string        { return "ServiceNotActiveException" }
func (resourceNotFound) code() string        { return "ResourceNotFoundException" }
func (resourceInUse) code() string           { return "ResourceInUseException" }

type (
	// ClusterNotFoundException: the named cluster does not exist (or is
	// INACTIVE).
	ClusterNotFoundException = Exception[clusterNotFound]
	// InvalidParameterException: a parameter is invalid (a bad value, a
	// limit exceeded, a task definition that is inactive, an empty cluster
	// on RunTask).
	InvalidParameterException = Exception[invalidParameterKind]
	// ClientException: the request is wrong on the client's side, e.g. an
	// invalid task definition or an unknown identifier.
	ClientException = Exception[clientKind]
	// TargetNotFoundException: Put/DeleteAttributes named an unknown
	// target.
	TargetNotFoundException = Exception[targetNotFound]
	// AttributeLimitExceededException: a resource would carry more than 10
	// custom attributes.
	AttributeLimitExceededException = Exception[attributeLimitExceeded]
	// ClusterContainsContainerInstancesException: DeleteCluster on a
	// cluster with ACTIVE or DRAINING container instances.
	ClusterContainsContainerInstancesException = Exception[clusterContainsContainerInstances]
	// ClusterContainsTasksException: DeleteCluster on a cluster with tasks
	// that are not stopped.
	ClusterContainsTasksException = Exception[clusterContainsTasks]
	// ClusterContainsServicesException: DeleteCluster on a cluster with
	// services that are ACTIVE or DRAINING.
	ClusterContainsServicesException = Exception[clusterContainsServices]
	// LimitExceededException: RegisterTaskDefinition over a resource limit
	// (1,000,000 revisions per family).
	LimitExceededException = Exception[limitExceeded]
	// ServiceNotFoundException: the named service does not exist in the
	// cluster.
	ServiceNotFoundException = Exception[serviceNotFound]
	// ServiceNotActiveException: UpdateService on a service that is
	// DRAINING or INACTIVE.
	ServiceNotActiveException = Exception[serviceNotActive]
	// ResourceNotFoundException: TagResource, UntagResource or
	// ListTagsForResource named a resource that does not exist.
	ResourceNotFoundException = Exception[resourceNotFound]
	// ResourceInUseException: DeleteCapacityProvider or
	// PutClusterCapacityProviders on a capacity provider a cluster,
	// service or task still uses.
	ResourceInUseException = Exception[resourceInUse]
)

func clusterNotFoundError(name string) error {
	return &ClusterNotFoundException{Message: fmt.Sprintf("Cluster not found: %s.", name)}
}

func invalidParameter(err error, format string, args ...any) error {
	return &InvalidParameterException{Message: fmt.Sprintf(format, args...), Err: err}
}

func clientException(err error, format string, args ...any) error {
	return &ClientException{Message: fmt.Sprintf(format, args...), Err: err}
}
