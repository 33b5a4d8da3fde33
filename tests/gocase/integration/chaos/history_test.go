package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Outcome of one client operation.
const (
	// StatusOK: the server acknowledged the operation.
	StatusOK = "ok"
	// StatusAmbiguous: proposed or sent but not confirmed (timeout, connection error, UNCERTAIN):
	// it may or may not have applied.
	StatusAmbiguous = "ambiguous"
	// StatusFail: every attempt got an answer that guarantees nothing was applied (MOVED,
	// CLUSTERDOWN, TRYAGAIN, connection refused) until the operation's time ran out.
	StatusFail = "fail"
)

// Op is one operation of the history. Times are nanoseconds since the history began.
type Op struct {
	Client int    `json:"client"`
	Kind   string `json:"kind"` // set, get, rpush, incr, lrange
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"` // the SET value or the RPUSH element
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
	Status string `json:"status"`
	// Result: GET's value, RPUSH's new length, INCR's new value, LRANGE's elements.
	Result   string   `json:"result,omitempty"`
	Nil      bool     `json:"nil,omitempty"` // GET found no key
	Elements []string `json:"elements,omitempty"`
	Int      int64    `json:"int,omitempty"`
	Err      string   `json:"err,omitempty"`
	Final    bool     `json:"final,omitempty"` // a read after the run, once healed
}

// Event is a fault or healing step, in history time.
type Event struct {
	At   int64  `json:"at"`
	What string `json:"what"`
}

// History is every operation of a run, in the order they returned.
type History struct {
	start  time.Time
	mu     sync.Mutex
	ops    []Op
	events []Event
}

func newHistory() *History { return &History{start: time.Now()} }

func (h *History) now() int64 { return int64(time.Since(h.start)) }

func (h *History) add(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

func (h *History) event(format string, args ...interface{}) {
	h.mu.Lock()
	h.events = append(h.events, Event{At: h.now(), What: fmt.Sprintf(format, args...)})
	h.mu.Unlock()
}

// Ops is a copy of the recorded operations.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

type savedRun struct {
	Scenario string   `json:"scenario"`
	Seed     int64    `json:"seed"`
	Failures []string `json:"failures"`
	Events   []Event  `json:"events"`
	Ops      []Op     `json:"ops"`
}

// save writes the history, seed and failures as JSON under $REDRAFT_CHAOS_OUT (or a new
// directory in the system temp dir, which outlives the test) and returns the file's path.
func (h *History) save(scenario string, seed int64, failures []string) (string, error) {
	dir := os.Getenv("REDRAFT_CHAOS_OUT")
	if dir == "" {
		d, err := os.MkdirTemp("", "redraft-chaos-")
		if err != nil {
			return "", err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	h.mu.Lock()
	run := savedRun{Scenario: scenario, Seed: seed, Failures: failures, Events: h.events, Ops: h.ops}
	b, err := json.MarshalIndent(run, "", " ")
	h.mu.Unlock()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-seed%d-%d.json", scenario, seed, time.Now().UnixNano()))
	return path, os.WriteFile(path, b, 0o644)
}
