// Command stevedore is Stevedore's one binary. Its subcommand serve runs an
// in-process ECS control plane as an ECS endpoint that the AWS CLI and the
// AWS SDKs talk to:
//
//	stevedore serve --addr 127.0.0.1:4566
//	aws ecs create-cluster --cluster-name demo --endpoint-url http://127.0.0.1:4566
//
// Run `stevedore --help` and `stevedore serve --help` for the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stevedore:", err)
		os.Exit(1)
	}
}
