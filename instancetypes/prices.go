package instancetypes

// Region is the region the catalogue's prices are for.
const Region = "us-east-1"

// PricesAsOf is when the prices were transcribed: the EC2 On-Demand
// pricing page's Linux list prices for us-east-1, in US dollars per
// instance hour. Prices change; check the page before spending on them.
const PricesAsOf = "2026-12-03"

// prices are the on-demand Linux prices in us-east-1, USD per hour.
var prices = map[string]float64{
	"c5.large": 0.085, "c5.xlarge": 0.17, "c5.2xlarge": 0.34, "c5.4xlarge": 0.68, "c5.9xlarge": 1.53,
	"c5.12xlarge": 2.04, "c5.18xlarge": 3.06, "c5.24xlarge": 4.08,
	"c6i.large": 0.085, "c6i.xlarge": 0.17, "c6i.2xlarge": 0.34, "c6i.4xlarge": 0.68, "c6i.8xlarge": 1.36,
	"c6i.12xlarge": 2.04, "c6i.16xlarge": 2.72, "c6i.24xlarge": 4.08, "c6i.32xlarge": 5.44,
	"g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
	"g4dn.12xlarge": 3.912, "g4dn.16xlarge": 4.352,
	"m4.large": 0.10, "m4.xlarge": 0.20, "m4.2xlarge": 0.40, "m4.4xlarge": 0.80, "m4.10xlarge": 2.00, "m4.16xlarge": 3.20,
	"m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768, "m5.8xlarge": 1.536,
	"m5.12xlarge": 2.304, "m5.16xlarge": 3.072, "m5.24xlarge": 4.608,
	"m6i.large": 0.096, "m6i.xlarge": 0.192, "m6i.2xlarge": 0.384, "m6i.4xlarge": 0.768, "m6i.8xlarge": 1.536,
	"m6i.12xlarge": 2.304, "m6i.16xlarge": 3.072, "m6i.24xlarge": 4.608, "m6i.32xlarge": 6.144,
	"p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "p3.16xlarge": 24.48,
	"r5.large": 0.126, "r5.xlarge": 0.252, "r5.2xlarge": 0.504, "r5.4xlarge": 1.008, "r5.8xlarge": 2.016,
	"r5.12xlarge": 3.024, "r5.16xlarge": 4.032, "r5.24xlarge": 6.048,
	"r6i.large": 0.126, "r6i.xlarge": 0.252, "r6i.2xlarge": 0.504, "r6i.4xlarge": 1.008, "r6i.8xlarge": 2.016,
	"r6i.12xlarge": 3.024, "r6i.16xlarge": 4.032, "r6i.24xlarge": 6.048, "r6i.32xlarge": 8.064,
	"t2.micro": 0.0116, "t2.small": 0.023, "t2.medium": 0.0464, "t2.large": 0.0928, "t2.xlarge": 0.1856, "t2.2xlarge": 0.3712,
	"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
}

// OnDemandPrice returns the type's on-demand Linux price in Region, in
// US dollars per hour, as of PricesAsOf.
func (t InstanceType) OnDemandPrice() (float64, bool) {
	p, ok := prices[t.Name]
	return p, ok
}

// RegisteredMemoryMiB estimates the MEMORY an ECS container instance of
// the type registers: less than the installed memory, by what the kernel
// and the platform keep (the agent registers what the OS reports, less
// ECS_RESERVED_MEMORY, taken as 0 here). The estimate is the installed
// MiB less 1.6 % and 80 MiB, which is within 0.2 % of the registrations
// published for the m4 and t2 types (m4.large installs 8,192 MiB and
// registers 7,985; m4.16xlarge 262,144 and 257,953; t2.medium 4,096 and
// 3,952).
func (t InstanceType) RegisteredMemoryMiB() int64 {
	return max(t.MemoryMiB-t.MemoryMiB*16/1000-80, 0)
}
