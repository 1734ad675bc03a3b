// Package instancetypes is an embedded catalogue of EC2 instance types, as
// ECS needs them: vCPUs, memory, GPUs and the elastic network interfaces
// (ENIs) an instance can attach, with and without awsvpc trunking.
//
// The figures are EC2's published specifications for each type (the
// instance type pages and the ECS guide's table of ENI trunking limits),
// transcribed on 2026-12-03. A type the catalogue does not list is not an
// error anywhere in Stevedore: its instances simply carry no ENI limit
// unless the instance says otherwise (see the stevedore package's
// RegisterContainerInstance).
package instancetypes

import (
	"slices"
	"strings"
)

// InstanceType is one EC2 instance type.
type InstanceType struct {
	// Name is the API name, e.g. "m5.large".
	Name string
	// VCPUs and MemoryMiB are the type's vCPUs and memory.
	VCPUs     int
	MemoryMiB int64
	// GPUs is the number of GPUs the type has.
	GPUs int
	// MaxENIs is how many network interfaces an instance of the type can
	// attach, its primary one included.
	MaxENIs int
	// TrunkTasks is how many awsvpc tasks an instance can run with awsvpc
	// trunking, or 0 where the type does not support trunking.
	TrunkTasks int
}

// TaskENIs returns how many awsvpc tasks an instance of the type can run:
// each task attaches its own ENI, and the primary ENI is the instance's,
// so MaxENIs − 1; with trunking on a type that supports it, TrunkTasks.
func (t InstanceType) TaskENIs(trunking bool) int {
	if trunking && t.TrunkTasks > 0 {
		return t.TrunkTasks
	}
	return max(t.MaxENIs-1, 0)
}

// SupportsTrunking reports whether the type supports awsvpc trunking.
func (t InstanceType) SupportsTrunking() bool { return t.TrunkTasks > 0 }

// CPUUnits returns the CPU units ECS registers for the type: 1,024 per
// vCPU.
func (t InstanceType) CPUUnits() int64 { return int64(t.VCPUs) * 1024 }

// Lookup returns the instance type of the given name (case-insensitive).
func Lookup(name string) (InstanceType, bool) {
	i, ok := slices.BinarySearchFunc(catalogue, strings.ToLower(name), func(t InstanceType, n string) int { return strings.Compare(t.Name, n) })
	if !ok {
		return InstanceType{}, false
	}
	return catalogue[i], true
}

// All returns every instance type of the catalogue, sorted by name.
func All() []InstanceType { return slices.Clone(catalogue) }

const gib = 1024

// catalogue is sorted by name (checked by the tests).
var catalogue = []InstanceType{
	{"c5.12xlarge", 48, 96 * gib, 0, 8, 60},
	{"c5.18xlarge", 72, 144 * gib, 0, 15, 120},
	{"c5.24xlarge", 96, 192 * gib, 0, 15, 120},
	{"c5.2xlarge", 8, 16 * gib, 0, 4, 40},
	{"c5.4xlarge", 16, 32 * gib, 0, 8, 60},
	{"c5.9xlarge", 36, 72 * gib, 0, 8, 60},
	{"c5.large", 2, 4 * gib, 0, 3, 10},
	{"c5.xlarge", 4, 8 * gib, 0, 4, 20},
	{"c6i.12xlarge", 48, 96 * gib, 0, 8, 60},
	{"c6i.16xlarge", 64, 128 * gib, 0, 15, 120},
	{"c6i.24xlarge", 96, 192 * gib, 0, 15, 120},
	{"c6i.2xlarge", 8, 16 * gib, 0, 4, 40},
	{"c6i.32xlarge", 128, 256 * gib, 0, 15, 120},
	{"c6i.4xlarge", 16, 32 * gib, 0, 8, 60},
	{"c6i.8xlarge", 32, 64 * gib, 0, 8, 60},
	{"c6i.large", 2, 4 * gib, 0, 3, 10},
	{"c6i.xlarge", 4, 8 * gib, 0, 4, 20},
	{"g4dn.12xlarge", 48, 192 * gib, 4, 8, 0},
	{"g4dn.16xlarge", 64, 256 * gib, 1, 4, 0},
	{"g4dn.2xlarge", 8, 32 * gib, 1, 3, 0},
	{"g4dn.4xlarge", 16, 64 * gib, 1, 3, 0},
	{"g4dn.8xlarge", 32, 128 * gib, 1, 4, 0},
	{"g4dn.xlarge", 4, 16 * gib, 1, 3, 0},
	{"m4.10xlarge", 40, 160 * gib, 0, 8, 0},
	{"m4.16xlarge", 64, 256 * gib, 0, 8, 0},
	{"m4.2xlarge", 8, 32 * gib, 0, 4, 0},
	{"m4.4xlarge", 16, 64 * gib, 0, 8, 0},
	{"m4.large", 2, 8 * gib, 0, 2, 0},
	{"m4.xlarge", 4, 16 * gib, 0, 4, 0},
	{"m5.12xlarge", 48, 192 * gib, 0, 8, 60},
	{"m5.16xlarge", 64, 256 * gib, 0, 15, 120},
	{"m5.24xlarge", 96, 384 * gib, 0, 15, 120},
	{"m5.2xlarge", 8, 32 * gib, 0, 4, 40},
	{"m5.4xlarge", 16, 64 * gib, 0, 8, 60},
	{"m5.8xlarge", 32, 128 * gib, 0, 8, 60},
	{"m5.large", 2, 8 * gib, 0, 3, 10},
	{"m5.xlarge", 4, 16 * gib, 0, 4, 20},
	{"m6i.12xlarge", 48, 192 * gib, 0, 8, 60},
	{"m6i.16xlarge", 64, 256 * gib, 0, 15, 120},
	{"m6i.24xlarge", 96, 384 * gib, 0, 15, 120},
	{"m6i.2xlarge", 8, 32 * gib, 0, 4, 40},
	{"m6i.32xlarge", 128, 512 * gib, 0, 15, 120},
	{"m6i.4xlarge", 16, 64 * gib, 0, 8, 60},
	{"m6i.8xlarge", 32, 128 * gib, 0, 8, 60},
	{"m6i.large", 2, 8 * gib, 0, 3, 10},
	{"m6i.xlarge", 4, 16 * gib, 0, 4, 20},
	{"p3.16xlarge", 64, 488 * gib, 8, 8, 0},
	{"p3.2xlarge", 8, 61 * gib, 1, 4, 0},
	{"p3.8xlarge", 32, 244 * gib, 4, 8, 0},
	{"r5.12xlarge", 48, 384 * gib, 0, 8, 60},
	{"r5.16xlarge", 64, 512 * gib, 0, 15, 120},
	{"r5.24xlarge", 96, 768 * gib, 0, 15, 120},
	{"r5.2xlarge", 8, 64 * gib, 0, 4, 40},
	{"r5.4xlarge", 16, 128 * gib, 0, 8, 60},
	{"r5.8xlarge", 32, 256 * gib, 0, 8, 60},
	{"r5.large", 2, 16 * gib, 0, 3, 10},
	{"r5.xlarge", 4, 32 * gib, 0, 4, 20},
	{"r6i.12xlarge", 48, 384 * gib, 0, 8, 60},
	{"r6i.16xlarge", 64, 512 * gib, 0, 15, 120},
	{"r6i.24xlarge", 96, 768 * gib, 0, 15, 120},
	{"r6i.2xlarge", 8, 64 * gib, 0, 4, 40},
	{"r6i.32xlarge", 128, 1024 * gib, 0, 15, 120},
	{"r6i.4xlarge", 16, 128 * gib, 0, 8, 60},
	{"r6i.8xlarge", 32, 256 * gib, 0, 8, 60},
	{"r6i.large", 2, 16 * gib, 0, 3, 10},
	{"r6i.xlarge", 4, 32 * gib, 0, 4, 20},
	{"t2.2xlarge", 8, 32 * gib, 0, 3, 0},
	{"t2.large", 2, 8 * gib, 0, 3, 0},
	{"t2.medium", 2, 4 * gib, 0, 3, 0},
	{"t2.micro", 1, 1 * gib, 0, 2, 0},
	{"t2.small", 1, 2 * gib, 0, 2, 0},
	{"t2.xlarge", 4, 16 * gib, 0, 3, 0},
	{"t3.2xlarge", 8, 32 * gib, 0, 4, 0},
	{"t3.large", 2, 8 * gib, 0, 3, 0},
	{"t3.medium", 2, 4 * gib, 0, 3, 0},
	{"t3.micro", 2, 1 * gib, 0, 2, 0},
	{"t3.small", 2, 2 * gib, 0, 3, 0},
	{"t3.xlarge", 4, 16 * gib, 0, 4, 0},
}
