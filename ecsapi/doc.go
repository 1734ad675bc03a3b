// Package ecsapi serves a [stevedore.Client] over Amazon ECS's wire
// protocol, so that the AWS CLI and the AWS SDKs talk to it as they talk to
// ECS: `aws ecs run-task --endpoint-url http://127.0.0.1:4566`, or
// aws-sdk-go-v2's service/ecs client with its BaseEndpoint set.
//
// # Protocol
//
// [Handler] speaks ECS's AWS JSON 1.1 protocol: every call is a POST to /
// with the header X-Amz-Target: AmazonEC2ContainerServiceV20141113.NAME
// naming the operation, a JSON body in ECS's field names, and Content-Type
// application/x-amz-json-1.1. Timestamps go out as epoch seconds (numbers),
// as the SDKs read them. An error is ECS's error shape,
// {"__type": "com.amazonaws.ecs#ClusterNotFoundException", "message": "..."},
// with the exception's HTTP status (400 for the client's errors, 500 for
// the server's), so each SDK raises its own typed error
// (*types.ClusterNotFoundException in Go). An unknown operation is an
// UnknownOperationException, a body that is not JSON or has a field of the
// wrong type a SerializationException, a body over [Options.MaxBodyBytes]
// a SerializationException too — it is never read whole. Fields the model
// does not know are ignored, as ECS ignores what it does not use [INF].
//
// # Authentication
//
// With [Options.Credentials], every request must be signed with AWS
// Signature Version 4 for service "ecs" by one of those access keys: the
// canonical request, the credential scope (its date, the region when
// [Options.Region] is set, the service) and the signature are verified,
// and the request time must be within 15 minutes of the handler's clock. A
// request without a signature, or from an unknown key, is an
// UnrecognizedClientException (400); a wrong signature or an expired one
// an InvalidSignatureException (403); neither reaches the Client. Without
// credentials any request is served, signed or not.
//
// # Concurrency
//
// A Handler is safe for concurrent use; it serves each request with the
// Client, whose methods are.
package ecsapi
