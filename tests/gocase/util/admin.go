package util

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// AdminView is GET /admin/regions.
type AdminView struct {
	MapVersion uint64 `json:"map_version"`
	Regions    []struct {
		ID       uint64 `json:"id"`
		Slots    [2]int `json:"slots"`
		Epoch    uint64 `json:"epoch"`
		Leader   *int   `json:"leader"`
		Replicas []struct {
			Replica uint64 `json:"replica"`
			Node    int    `json:"node"`
		} `json:"replicas"`
		Op *uint64 `json:"op"`
	} `json:"regions"`
	Nodes []struct {
		ID       int  `json:"id"`
		Up       bool `json:"up"`
		Replicas int  `json:"replicas"`
		Removing bool `json:"removing"`
	} `json:"nodes"`
}

// RegionNodes is the node ids of region id's replicas (nil when there is no such region).
func (v AdminView) RegionNodes(id uint64) []int {
	for _, r := range v.Regions {
		if r.ID == id {
			var out []int
			for _, x := range r.Replicas {
				out = append(out, x.Node)
			}
			return out
		}
	}
	return nil
}

// RegionOfSlot is the id of the region holding slot.
func (v AdminView) RegionOfSlot(slot int) uint64 {
	for _, r := range v.Regions {
		if r.Slots[0] <= slot && slot <= r.Slots[1] {
			return r.ID
		}
	}
	return 0
}

// Op is an operation as the admin API shows it.
type Op struct {
	ID     uint64          `json:"id"`
	Kind   string          `json:"kind"`
	State  string          `json:"state"`
	Step   string          `json:"step"`
	Error  *string         `json:"error"`
	Start  uint64          `json:"started_ms"`
	Finish *uint64         `json:"finished_ms"`
	Detail json.RawMessage `json:"detail"`
}

// AdminCall sends an admin HTTP request to the admin port and returns the status and body.
func AdminCall(t testing.TB, port int, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader(body))
	require.NoError(t, err)
	client := http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// Regions reads GET /admin/regions from the admin port.
func Regions(t testing.TB, port int) AdminView {
	t.Helper()
	status, body := AdminCall(t, port, "GET", "/admin/regions", "")
	require.Equal(t, 200, status, string(body))
	var v AdminView
	require.NoError(t, json.Unmarshal(body, &v))
	return v
}

// StartOp posts a request that starts an operation and returns its id (202 required).
func StartOp(t testing.TB, port int, method, path, body string) uint64 {
	t.Helper()
	status, b := AdminCall(t, port, method, path, body)
	require.Equal(t, 202, status, "%s %s %s: %s", method, path, body, b)
	var r struct {
		Op uint64 `json:"op"`
	}
	require.NoError(t, json.Unmarshal(b, &r))
	return r.Op
}

// WaitOp polls the operation on the admin ports (any that answers) until it has finished,
// and returns it with how long it took (as the server measured it).
func WaitOp(t testing.TB, ports []int, id uint64, deadline time.Duration) Op {
	t.Helper()
	var op Op
	start := time.Now()
	for time.Since(start) < deadline {
		for _, p := range ports {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/admin/ops/%d", p, id), nil)
			client := http.Client{Timeout: 5 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || json.Unmarshal(b, &op) != nil {
				continue
			}
			if op.State != "running" {
				return op
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("operation %d still running after %v: %+v", id, deadline, op)
	return op
}

// RequireDone fails unless the operation finished successfully.
func RequireDone(t testing.TB, op Op) time.Duration {
	t.Helper()
	if op.State != "done" {
		msg := ""
		if op.Error != nil {
			msg = *op.Error
		}
		t.Fatalf("operation %d (%s) %s: %s (step %q)", op.ID, op.Kind, op.State, msg, op.Step)
	}
	return time.Duration(*op.Finish-op.Start) * time.Millisecond
}
