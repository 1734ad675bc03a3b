package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/journal"
)

func entries() []journal.Entry {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).UnixNano()
	return []journal.Entry{
		{T: t0, Op: "CreateCluster", Body: []byte(`{"clusterName":"app"}`)},
		{T: t0 + 1, Op: "RegisterContainerInstance", Body: []byte(`{"cluster":"app","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":2048},{"name":"MEMORY","type":"INTEGER","integerValue":4096}]}`)},
		{T: t0 + 2, Op: "RegisterTaskDefinition", Body: []byte(`{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","cpu":256,"memory":512}]}`)},
		{T: t0 + 3, Op: "CreateService", Body: []byte(`{"cluster":"app","serviceName":"web","taskDefinition":"web","desiredCount":3}`)},
		{T: t0 + int64(time.Second), Op: journal.TickOp},
		{T: t0 + int64(3*time.Second), Op: journal.TickOp},
		{T: t0 + 5, Op: "RunTask", Body: []byte(`{"cluster":"app","taskDefinition":"web","count":2}`)}, // older than the tick: applied at its time
		{T: t0 + int64(4*time.Second), Op: "RunTask", Body: []byte(`not json`)},
	}
}

func TestMachinesAgree(t *testing.T) {
	ctx := context.Background()
	var answers [2][]journal.Response
	var machines [2]*journal.Machine
	for k := range machines {
		m, err := journal.New(journal.Options{Seed: 7, Region: "us-east-1", AccountID: "123456789012", StartDelay: time.Second})
		require.NoError(t, err)
		machines[k] = m
		for _, e := range entries() {
			answers[k] = append(answers[k], m.Apply(ctx, e))
		}
		assert.Equal(t, len(entries()), m.Applied())
	}
	assert.Equal(t, answers[0], answers[1], "the same entries, the same answers")
	last := answers[0][len(answers[0])-1]
	assert.Equal(t, http.StatusBadRequest, last.Status)
	assert.Equal(t, "SerializationException", last.ErrorType)
	run := answers[0][6]
	require.Equal(t, http.StatusOK, run.Status, string(run.Body))
	var out struct {
		Tasks []struct{ TaskArn, CreatedAt json.RawMessage }
	}
	require.NoError(t, json.Unmarshal(run.Body, &out))
	require.Len(t, out.Tasks, 2)
	assert.Equal(t, "1796292003", string(out.Tasks[0].CreatedAt), "applied at the tick's time: the clock never goes back")
	// Reads agree too.
	for _, op := range []string{"ListTasks", "DescribeServices"} {
		body := []byte(`{"cluster":"app","services":["web"]}`)
		a := machines[0].Read(ctx, op, body)
		b := machines[1].Read(ctx, op, body)
		assert.Equal(t, http.StatusOK, a.Status, string(a.Body))
		assert.Equal(t, a, b, op)
	}
	assert.Equal(t, http.StatusBadRequest, machines[0].Read(ctx, "RunTask", nil).Status, "Read runs no write")
}

func TestEntryJSON(t *testing.T) {
	for _, e := range entries() {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		var back journal.Entry
		require.NoError(t, json.Unmarshal(b, &back))
		if len(e.Body) == 0 {
			assert.Empty(t, back.Body)
			continue
		}
		if json.Valid(e.Body) {
			assert.JSONEq(t, string(e.Body), string(back.Body))
		} else {
			assert.Equal(t, string(e.Body), string(back.Body), "a body that is not JSON comes back as it was")
		}
	}
	var e journal.Entry
	assert.True(t, errors.Is(json.Unmarshal([]byte(`{"t":1}`), &e), journal.ErrEntry), "an entry needs its op")
	assert.True(t, errors.Is(e.UnmarshalJSON([]byte(`[`)), journal.ErrEntry))
}

// TestEntryRawBody: a body that is not JSON has a field of its own, so a
// JSON body that looks like the first format's wrapping stays what it is;
// an entry of the first format reads as it was written.
func TestEntryRawBody(t *testing.T) {
	for _, body := range []string{`{"__raw":"x"}`, `not json`, `{"cluster":`} {
		b, err := json.Marshal(journal.Entry{T: 1, Op: "RunTask", Body: []byte(body)})
		require.NoError(t, err)
		var back journal.Entry
		require.NoError(t, json.Unmarshal(b, &back))
		if json.Valid([]byte(body)) {
			assert.JSONEq(t, body, string(back.Body), "%s", b)
		} else {
			assert.Equal(t, body, string(back.Body), "%s", b)
		}
	}
	var old journal.Entry
	require.NoError(t, json.Unmarshal([]byte(`{"t":1,"op":"RunTask","body":{"__raw":"not json"}}`), &old))
	assert.Equal(t, "not json", string(old.Body), "the first format's raw body")
}

func TestReadOnlyAndReached(t *testing.T) {
	assert.True(t, journal.ReadOnly("DescribeTasks"))
	assert.False(t, journal.ReadOnly("RunTask"))
	assert.False(t, journal.ReadOnly(journal.TickOp))
	assert.True(t, journal.Reached(""))
	assert.True(t, journal.Reached("ClusterNotFoundException"))
	assert.False(t, journal.Reached("InvalidSignatureException"))
}

func FuzzEntry(f *testing.F) {
	f.Add([]byte(`{"t":1,"op":"RunTask","body":{"cluster":"a"}}`))
	f.Add([]byte(`{"t":1,"op":"RunTask","body":{"__raw":"x"}}`))
	f.Add([]byte(`{"op":"tick"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e journal.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return
		}
		again, err := json.Marshal(e)
		require.NoError(t, err)
		var back journal.Entry
		require.NoError(t, json.Unmarshal(again, &back))
		assert.Equal(t, e.Op, back.Op)
		assert.Equal(t, e.T, back.T)
	})
}

func ExampleMachine() {
	ctx := context.Background()
	m, err := journal.New(journal.Options{Seed: 1, Region: "us-east-1", AccountID: "123456789012"})
	if err != nil {
		panic(err)
	}
	r := m.Apply(ctx, journal.Entry{T: 1, Op: "CreateCluster", Body: []byte(`{"clusterName":"demo"}`)})
	fmt.Println(r.Status, r.ErrorType == "")
	r = m.Apply(ctx, journal.Entry{T: 2, Op: "DeleteCluster", Body: []byte(`{"cluster":"nope"}`)})
	fmt.Println(r.Status, r.ErrorType)
	// Output:
	// 200 true
	// 400 ClusterNotFoundException
}
