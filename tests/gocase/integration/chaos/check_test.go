package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// registerInput is a SET (with its value) or a GET.
type registerInput struct {
	set   bool
	value string
}

// registerOutput is what a GET saw (absent: no such key).
type registerOutput struct {
	value  string
	absent bool
}

// registerState: "" with absent=true is the missing key; values are never empty.
type registerState struct {
	value  string
	absent bool
}

var registerModel = porcupine.Model{
	Init: func() interface{} { return registerState{absent: true} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(registerState)
		in := input.(registerInput)
		if in.set {
			return true, registerState{value: in.value}
		}
		out := output.(registerOutput)
		return out.absent == st.absent && out.value == st.value, st
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(registerInput)
		if in.set {
			return "set " + in.value
		}
		out := output.(registerOutput)
		if out.absent {
			return "get -> nil"
		}
		return "get -> " + out.value
	},
}

// linearizabilityTimeout bounds porcupine per key; running out is reported as a failure
// (the history could not be shown linearizable).
const linearizabilityTimeout = 2 * time.Minute

// checkRegisters checks every register key's SET/GET history: linearizable (porcupine, with
// ambiguous SETs returning at the end of time and ambiguous GETs left out), and no
// acknowledged SET lost (the final value was not overwritten in real time by a later
// acknowledged SET).
func checkRegisters(ops []Op) []string {
	var failures []string
	byKey := map[string][]Op{}
	var end int64
	registers := map[string]bool{}
	for _, op := range ops {
		if op.Kind == "set" {
			registers[op.Key] = true
		}
	}
	for _, op := range ops {
		if registers[op.Key] && (op.Kind == "set" || op.Kind == "get") {
			byKey[op.Key] = append(byKey[op.Key], op)
		}
		if op.Return > end {
			end = op.Return
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		var hist []porcupine.Operation
		var final *Op
		writes := map[string]Op{}
		for i, op := range byKey[key] {
			switch {
			case op.Kind == "set" && op.Status == StatusOK:
				hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: registerInput{set: true, value: op.Value}, Call: op.Call, Return: op.Return})
				writes[op.Value] = op
			case op.Kind == "set" && op.Status == StatusAmbiguous:
				hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: registerInput{set: true, value: op.Value}, Call: op.Call, Return: end + int64(time.Hour)})
				writes[op.Value] = op
			case op.Kind == "get" && op.Status == StatusOK:
				hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: registerInput{}, Output: registerOutput{value: op.Result, absent: op.Nil}, Call: op.Call, Return: op.Return})
				if op.Final {
					final = &byKey[key][i]
				}
			}
		}
		switch porcupine.CheckOperationsTimeout(registerModel, hist, linearizabilityTimeout) {
		case porcupine.Illegal:
			failures = append(failures, fmt.Sprintf("register %s: history of %d operations is not linearizable", key, len(hist)))
		case porcupine.Unknown:
			failures = append(failures, fmt.Sprintf("register %s: linearizability check of %d operations timed out after %v", key, len(hist), linearizabilityTimeout))
		}
		if final == nil {
			failures = append(failures, fmt.Sprintf("register %s: no final read", key))
			continue
		}
		failures = append(failures, lostRegisterWrites(key, *final, writes)...)
	}
	return failures
}

// lostRegisterWrites: an acknowledged SET is lost if the final value is the key's absence or
// was written by a SET that returned before the acknowledged one was called.
func lostRegisterWrites(key string, final Op, writes map[string]Op) []string {
	var out []string
	var by *Op
	if !final.Nil {
		w, ok := writes[final.Result]
		if !ok {
			return []string{fmt.Sprintf("register %s: final value %q was never written", key, final.Result)}
		}
		by = &w
	}
	for _, w := range writes {
		if w.Status != StatusOK {
			continue
		}
		if by == nil {
			out = append(out, fmt.Sprintf("register %s: acknowledged SET %q lost (key absent at the end)", key, w.Value))
			continue
		}
		// An ambiguous SET may have taken effect at any time after its call.
		if by.Status == StatusOK && by.Return < w.Call {
			out = append(out, fmt.Sprintf("register %s: acknowledged SET %q (call %v) lost: final value %q was written before it (returned %v)",
				key, w.Value, time.Duration(w.Call), by.Value, time.Duration(by.Return)))
		}
	}
	sort.Strings(out)
	return out
}

// checkLists checks each list's final LRANGE against its RPUSHes: no element duplicated, none
// that was never pushed (or whose push surely failed), every acknowledged one present at the
// index its reply gave (length - 1: the list only grows), and real-time order kept (an element
// pushed after another was acknowledged comes after it).
func checkLists(ops []Op) []string {
	var failures []string
	pushes := map[string]map[string]Op{}
	finals := map[string]*Op{}
	for i, op := range ops {
		switch {
		case op.Kind == "rpush":
			if pushes[op.Key] == nil {
				pushes[op.Key] = map[string]Op{}
			}
			pushes[op.Key][op.Value] = op
		case op.Kind == "lrange" && op.Final && op.Status == StatusOK:
			finals[op.Key] = &ops[i]
		}
	}
	keys := make([]string, 0, len(pushes))
	for k := range pushes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		final := finals[key]
		if final == nil {
			failures = append(failures, fmt.Sprintf("list %s: no final read", key))
			continue
		}
		index := map[string]int{}
		for i, e := range final.Elements {
			if j, dup := index[e]; dup {
				failures = append(failures, fmt.Sprintf("list %s: element %q twice (at %d and %d)", key, e, j, i))
				continue
			}
			index[e] = i
			p, ok := pushes[key][e]
			if !ok {
				failures = append(failures, fmt.Sprintf("list %s: element %q at %d was never pushed", key, e, i))
			} else if p.Status == StatusFail {
				failures = append(failures, fmt.Sprintf("list %s: element %q at %d was pushed by an RPUSH that got only not-applied answers (%s)", key, e, i, p.Err))
			}
		}
		var present []Op
		for e, p := range pushes[key] {
			i, in := index[e]
			if p.Status == StatusOK {
				if !in {
					failures = append(failures, fmt.Sprintf("list %s: acknowledged element %q (length %d) lost", key, e, p.Int))
					continue
				}
				if int64(i) != p.Int-1 {
					failures = append(failures, fmt.Sprintf("list %s: acknowledged element %q at index %d, its RPUSH replied length %d", key, e, i, p.Int))
				}
			}
			if in {
				present = append(present, p)
			}
		}
		// Real-time order among the present elements.
		sort.Slice(present, func(a, b int) bool { return present[a].Call < present[b].Call })
		for _, b := range present {
			for _, a := range present {
				if a.Status == StatusOK && a.Return < b.Call && index[a.Value] > index[b.Value] {
					failures = append(failures, fmt.Sprintf("list %s: %q (pushed after %q was acknowledged) comes before it", key, b.Value, a.Value))
				}
			}
		}
	}
	return failures
}

// checkCounters checks each INCR counter: the final value is at least the number of
// acknowledged INCRs and at most that plus the ambiguous ones; acknowledged replies are
// distinct, at most the final value, and increase in real time.
func checkCounters(ops []Op) []string {
	var failures []string
	type counter struct {
		acked, ambiguous int64
		replies          []Op
		final            *Op
	}
	cs := map[string]*counter{}
	get := func(k string) *counter {
		if cs[k] == nil {
			cs[k] = &counter{}
		}
		return cs[k]
	}
	for _, op := range ops {
		switch {
		case op.Kind == "incr" && op.Status == StatusOK:
			c := get(op.Key)
			c.acked++
			c.replies = append(c.replies, op)
		case op.Kind == "incr" && op.Status == StatusAmbiguous:
			get(op.Key).ambiguous++
		}
	}
	for i, op := range ops {
		if op.Kind == "get" && op.Final && op.Status == StatusOK && cs[op.Key] != nil {
			cs[op.Key].final = &ops[i]
		}
	}
	keys := make([]string, 0, len(cs))
	for k := range cs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		c := cs[key]
		if c.final == nil {
			failures = append(failures, fmt.Sprintf("counter %s: no final read", key))
			continue
		}
		var v int64
		if !c.final.Nil {
			if _, err := fmt.Sscan(c.final.Result, &v); err != nil {
				failures = append(failures, fmt.Sprintf("counter %s: final value %q", key, c.final.Result))
				continue
			}
		}
		if v < c.acked {
			failures = append(failures, fmt.Sprintf("counter %s: final %d < %d acknowledged INCRs (an acknowledged INCR lost)", key, v, c.acked))
		}
		if v > c.acked+c.ambiguous {
			failures = append(failures, fmt.Sprintf("counter %s: final %d > %d acknowledged + %d ambiguous INCRs (an INCR applied twice)", key, v, c.acked, c.ambiguous))
		}
		seen := map[int64]bool{}
		for _, r := range c.replies {
			if seen[r.Int] {
				failures = append(failures, fmt.Sprintf("counter %s: two acknowledged INCRs replied %d", key, r.Int))
			}
			seen[r.Int] = true
			if r.Int > v || r.Int < 1 {
				failures = append(failures, fmt.Sprintf("counter %s: an INCR replied %d, final value %d", key, r.Int, v))
			}
		}
		sort.Slice(c.replies, func(a, b int) bool { return c.replies[a].Call < c.replies[b].Call })
		for _, b := range c.replies {
			for _, a := range c.replies {
				if a.Return < b.Call && a.Int >= b.Int {
					failures = append(failures, fmt.Sprintf("counter %s: INCR replied %d after an earlier acknowledged INCR replied %d", key, b.Int, a.Int))
				}
			}
		}
	}
	return failures
}

// checkAll runs every checker over the history.
func checkAll(ops []Op) []string {
	var out []string
	out = append(out, checkRegisters(ops)...)
	out = append(out, checkLists(ops)...)
	out = append(out, checkCounters(ops)...)
	return out
}

func summarize(failures []string, max int) string {
	if len(failures) <= max {
		return strings.Join(failures, "\n")
	}
	return strings.Join(failures[:max], "\n") + fmt.Sprintf("\n... and %d more", len(failures)-max)
}
