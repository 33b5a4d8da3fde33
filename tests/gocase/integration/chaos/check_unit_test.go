package chaos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The checkers on hand-made histories: each must accept the legal one and catch the fault.

func set(c int, v string, call, ret int64, st string) Op {
	return Op{Client: c, Kind: "set", Key: "k", Value: v, Call: call, Return: ret, Status: st}
}

func get(c int, v string, call, ret int64) Op {
	op := Op{Client: c, Kind: "get", Key: "k", Result: v, Call: call, Return: ret, Status: StatusOK}
	if v == "" {
		op.Nil = true
	}
	return op
}

func final(op Op) Op { op.Final = true; return op }

func TestCheckRegisters(t *testing.T) {
	t.Run("legal history", func(t *testing.T) {
		ops := []Op{get(0, "", 0, 1), set(0, "a", 2, 5, StatusOK), get(1, "a", 3, 6), set(1, "b", 7, 9, StatusOK), final(get(2, "b", 20, 21))}
		require.Empty(t, checkRegisters(ops))
	})
	t.Run("stale read", func(t *testing.T) {
		ops := []Op{set(0, "a", 0, 1, StatusOK), set(0, "b", 2, 3, StatusOK), get(1, "a", 4, 5), final(get(2, "b", 20, 21))}
		require.NotEmpty(t, checkRegisters(ops))
	})
	t.Run("lost acknowledged write", func(t *testing.T) {
		ops := []Op{set(0, "a", 0, 1, StatusOK), set(0, "b", 2, 3, StatusOK), final(get(2, "a", 20, 21))}
		f := checkRegisters(ops)
		require.NotEmpty(t, f)
		require.Contains(t, summarize(f, 10), `acknowledged SET "b"`)
	})
	t.Run("lost to absence", func(t *testing.T) {
		ops := []Op{set(0, "a", 0, 1, StatusOK), final(get(2, "", 20, 21))}
		require.Contains(t, summarize(checkRegisters(ops), 10), "key absent")
	})
	t.Run("ambiguous write may or may not apply", func(t *testing.T) {
		applied := []Op{set(0, "a", 0, 1, StatusOK), set(1, "b", 2, 3, StatusAmbiguous), get(0, "a", 4, 5), final(get(2, "b", 20, 21))}
		require.Empty(t, checkRegisters(applied))
		notApplied := []Op{set(0, "a", 0, 1, StatusOK), set(1, "b", 2, 3, StatusAmbiguous), final(get(2, "a", 20, 21))}
		require.Empty(t, checkRegisters(notApplied))
		// Once seen, it cannot disappear again.
		flicker := []Op{set(0, "a", 0, 1, StatusOK), set(1, "b", 2, 3, StatusAmbiguous), get(0, "b", 4, 5), final(get(2, "a", 20, 21))}
		require.NotEmpty(t, checkRegisters(flicker))
	})
	t.Run("a value never written", func(t *testing.T) {
		ops := []Op{set(0, "a", 0, 1, StatusOK), set(1, "b", 2, 3, StatusFail), final(get(2, "b", 20, 21))}
		require.NotEmpty(t, checkRegisters(ops))
	})
}

func rpush(c int, v string, call, ret int64, st string, n int64) Op {
	return Op{Client: c, Kind: "rpush", Key: "l", Value: v, Call: call, Return: ret, Status: st, Int: n}
}

func lrange(els ...string) Op {
	return Op{Kind: "lrange", Key: "l", Elements: els, Final: true, Status: StatusOK, Call: 100, Return: 101}
}

func TestCheckLists(t *testing.T) {
	base := []Op{rpush(0, "a", 0, 1, StatusOK, 1), rpush(1, "b", 2, 3, StatusAmbiguous, 0), rpush(0, "c", 4, 5, StatusOK, 3)}
	require.Empty(t, checkLists(append(base, lrange("a", "b", "c"))))
	require.Contains(t, summarize(checkLists(append(base, lrange("a", "b"))), 10), `acknowledged element "c"`)
	require.Contains(t, summarize(checkLists(append(base, lrange("a", "b", "c", "b"))), 10), "twice")
	require.Contains(t, summarize(checkLists(append(base, lrange("a", "c", "b"))), 10), "index")
	require.Contains(t, summarize(checkLists(append(base, lrange("a", "b", "c", "x"))), 10), "never pushed")
	// The ambiguous push did not apply: c's reply (3) says otherwise.
	require.NotEmpty(t, checkLists(append(base, lrange("a", "c"))))
	failed := []Op{rpush(0, "a", 0, 1, StatusOK, 1), rpush(1, "z", 2, 3, StatusFail, 0)}
	require.Contains(t, summarize(checkLists(append(failed, lrange("a", "z"))), 10), "not-applied")
	// Real-time order of an ambiguous element: pushed after a was acknowledged.
	order := []Op{rpush(0, "a", 0, 1, StatusOK, 1), rpush(1, "b", 2, 3, StatusAmbiguous, 0)}
	require.NotEmpty(t, checkLists(append(order, lrange("b", "a"))))
}

func incr(c int, n, call, ret int64, st string) Op {
	return Op{Client: c, Kind: "incr", Key: "n", Int: n, Call: call, Return: ret, Status: st}
}

func finalCounter(v string) Op {
	return Op{Kind: "get", Key: "n", Result: v, Final: true, Status: StatusOK, Call: 100, Return: 101}
}

func TestCheckCounters(t *testing.T) {
	base := []Op{incr(0, 1, 0, 1, StatusOK), incr(1, 0, 2, 3, StatusAmbiguous), incr(0, 3, 4, 5, StatusOK)}
	require.Empty(t, checkCounters(append(base, finalCounter("3"))))
	require.Contains(t, summarize(checkCounters(append(base, finalCounter("4"))), 10), "applied twice")
	require.Contains(t, summarize(checkCounters(append(base, finalCounter("1"))), 10), "lost")
	dup := []Op{incr(0, 1, 0, 1, StatusOK), incr(1, 1, 2, 3, StatusOK)}
	require.Contains(t, summarize(checkCounters(append(dup, finalCounter("2"))), 10), "two acknowledged")
	back := []Op{incr(0, 2, 0, 1, StatusOK), incr(1, 1, 2, 3, StatusOK)}
	require.Contains(t, summarize(checkCounters(append(back, finalCounter("2"))), 10), "after an earlier")
}
