package taskdef

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseCPU(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1024", 1024, false},
		{"1 vCPU", 1024, false},
		{"0.5 vCPU", 512, false},
		{"0.25vcpu", 256, false},
		{" 2 VCPU ", 2048, false},
		{".5 vCPU", 512, false},
		{"128", 128, false},
		{"0.3 vCPU", 0, true},
		{"", 0, true},
		{"vCPU", 0, true},
		{"1.5", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1 GB", 0, true},
		{"1e3", 0, true},
		{"99999999999999999999", 0, true},
		{"1.2.3 vCPU", 0, true},
		{". vCPU", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCPU(tt.in)
			if tt.wantErr {
				assert.Error(t, err, "ParseCPU(%q) = %d, want an error", tt.in, got)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"2048", 2048, false},
		{"1GB", 1024, false},
		{"0.5GB", 512, false},
		{"1 gb", 1024, false},
		{"4 Gb", 4096, false},
		{"1 vCPU", 0, true},
		{"1MB", 0, true},
		{"0.0001GB", 0, true},
		{"GB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMemory(tt.in)
			if tt.wantErr {
				assert.Error(t, err, "ParseMemory(%q) = %d, want an error", tt.in, got)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
