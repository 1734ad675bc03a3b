package stevedore

import "fmt"

// APIError is implemented by every exception the Client returns, in the
// shape aws-sdk-go-v2 users know from smithy: an ECS error code and a
// message. Match a specific exception with errors.As or errors.AsType
// (errors.AsType[*ClusterNotFoundException](err)), or with errors.Is against
// a zero value (errors.Is(err, &ClusterNotFoundException{})).
type APIError interface {
	error
	ErrorCode() string
	ErrorMessage() string
}

// apiError is the body every exception shares: the message, and the cause
// from a lower layer when there is one (reachable with errors.Is/As).
type apiError struct {
	// Message is ECS's message text.
	Message string
	// Err is the underlying cause, or nil.
	Err error
}

func (e *apiError) format(code string) string {
	return code + ": " + e.Message
}

// ErrorMessage returns the message.
func (e *apiError) ErrorMessage() string { return e.Message }

// Unwrap returns the cause.
func (e *apiError) Unwrap() error { return e.Err }

// ClusterNotFoundException: the named cluster does not exist (or is INACTIVE).
type ClusterNotFoundException struct{ apiError }

// Error implements error.
func (e *ClusterNotFoundException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ClusterNotFoundException".
func (e *ClusterNotFoundException) ErrorCode() string { return "ClusterNotFoundException" }

// Is reports whether target is a *ClusterNotFoundException.
func (e *ClusterNotFoundException) Is(target error) bool {
	_, ok := target.(*ClusterNotFoundException)
	return ok
}

// InvalidParameterException: a parameter is invalid (a bad value, a limit
// exceeded, a task definition that is inactive, an empty cluster on RunTask).
type InvalidParameterException struct{ apiError }

// Error implements error.
func (e *InvalidParameterException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "InvalidParameterException".
func (e *InvalidParameterException) ErrorCode() string { return "InvalidParameterException" }

// Is reports whether target is an *InvalidParameterException.
func (e *InvalidParameterException) Is(target error) bool {
	_, ok := target.(*InvalidParameterException)
	return ok
}

// ClientException: the request is wrong on the client's side, e.g. an
// invalid task definition or an unknown identifier.
type ClientException struct{ apiError }

// Error implements error.
func (e *ClientException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ClientException".
func (e *ClientException) ErrorCode() string { return "ClientException" }

// Is reports whether target is a *ClientException.
func (e *ClientException) Is(target error) bool {
	_, ok := target.(*ClientException)
	return ok
}

// TargetNotFoundException: Put/DeleteAttributes named an unknown target.
type TargetNotFoundException struct{ apiError }

// Error implements error.
func (e *TargetNotFoundException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "TargetNotFoundException".
func (e *TargetNotFoundException) ErrorCode() string { return "TargetNotFoundException" }

// Is reports whether target is a *TargetNotFoundException.
func (e *TargetNotFoundException) Is(target error) bool {
	_, ok := target.(*TargetNotFoundException)
	return ok
}

// AttributeLimitExceededException: a resource would carry more than 10
// custom attributes.
type AttributeLimitExceededException struct{ apiError }

// Error implements error.
func (e *AttributeLimitExceededException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "AttributeLimitExceededException".
func (e *AttributeLimitExceededException) ErrorCode() string {
	return "AttributeLimitExceededException"
}

// Is reports whether target is an *AttributeLimitExceededException.
func (e *AttributeLimitExceededException) Is(target error) bool {
	_, ok := target.(*AttributeLimitExceededException)
	return ok
}

// ClusterContainsContainerInstancesException: DeleteCluster on a cluster
// with ACTIVE or DRAINING container instances.
type ClusterContainsContainerInstancesException struct{ apiError }

// Error implements error.
func (e *ClusterContainsContainerInstancesException) Error() string {
	return e.format(e.ErrorCode())
}

// ErrorCode returns "ClusterContainsContainerInstancesException".
func (e *ClusterContainsContainerInstancesException) ErrorCode() string {
	return "ClusterContainsContainerInstancesException"
}

// Is reports whether target is a *ClusterContainsContainerInstancesException.
func (e *ClusterContainsContainerInstancesException) Is(target error) bool {
	_, ok := target.(*ClusterContainsContainerInstancesException)
	return ok
}

// ClusterContainsTasksException: DeleteCluster on a cluster with tasks that
// are not stopped.
type ClusterContainsTasksException struct{ apiError }

// Error implements error.
func (e *ClusterContainsTasksException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ClusterContainsTasksException".
func (e *ClusterContainsTasksException) ErrorCode() string {
	return "ClusterContainsTasksException"
}

// Is reports whether target is a *ClusterContainsTasksException.
func (e *ClusterContainsTasksException) Is(target error) bool {
	_, ok := target.(*ClusterContainsTasksException)
	return ok
}

// LimitExceededException: RegisterTaskDefinition over a resource limit
// (1,000,000 revisions per family).
type LimitExceededException struct{ apiError }

// Error implements error.
func (e *LimitExceededException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "LimitExceededException".
func (e *LimitExceededException) ErrorCode() string { return "LimitExceededException" }

// Is reports whether target is a *LimitExceededException.
func (e *LimitExceededException) Is(target error) bool {
	_, ok := target.(*LimitExceededException)
	return ok
}

func clusterNotFound(name string) error {
	return &ClusterNotFoundException{apiError{Message: fmt.Sprintf("Cluster not found: %s.", name)}}
}

func invalidParameter(err error, format string, args ...any) error {
	return &InvalidParameterException{apiError{Message: fmt.Sprintf(format, args...), Err: err}}
}

func clientException(err error, format string, args ...any) error {
	return &ClientException{apiError{Message: fmt.Sprintf(format, args...), Err: err}}
}

// ServiceNotFoundException: the named service does not exist in the cluster.
type ServiceNotFoundException struct{ apiError }

// Error implements error.
func (e *ServiceNotFoundException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ServiceNotFoundException".
func (e *ServiceNotFoundException) ErrorCode() string { return "ServiceNotFoundException" }

// Is reports whether target is a *ServiceNotFoundException.
func (e *ServiceNotFoundException) Is(target error) bool {
	_, ok := target.(*ServiceNotFoundException)
	return ok
}

// ServiceNotActiveException: UpdateService on a service that is DRAINING or
// INACTIVE.
type ServiceNotActiveException struct{ apiError }

// Error implements error.
func (e *ServiceNotActiveException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ServiceNotActiveException".
func (e *ServiceNotActiveException) ErrorCode() string { return "ServiceNotActiveException" }

// Is reports whether target is a *ServiceNotActiveException.
func (e *ServiceNotActiveException) Is(target error) bool {
	_, ok := target.(*ServiceNotActiveException)
	return ok
}

// ClusterContainsServicesException: DeleteCluster on a cluster with services
// that are ACTIVE or DRAINING.
type ClusterContainsServicesException struct{ apiError }

// Error implements error.
func (e *ClusterContainsServicesException) Error() string { return e.format(e.ErrorCode()) }

// ErrorCode returns "ClusterContainsServicesException".
func (e *ClusterContainsServicesException) ErrorCode() string {
	return "ClusterContainsServicesException"
}

// Is reports whether target is a *ClusterContainsServicesException.
func (e *ClusterContainsServicesException) Is(target error) bool {
	_, ok := target.(*ClusterContainsServicesException)
	return ok
}
