package util

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BulkPayload returns the payload of a raw RESP2 bulk string reply (`$N\r\n...\r\n`) or RESP3
// verbatim string reply (`=N\r\ntxt:...\r\n`, without the `txt:` prefix). It fails the test on
// anything else or on a length mismatch.
func BulkPayload(t testing.TB, raw string) string {
	t.Helper()
	require.True(t, strings.HasPrefix(raw, "$") || strings.HasPrefix(raw, "="), "not a bulk or verbatim string: %q", raw)
	i := strings.Index(raw, "\r\n")
	require.Positive(t, i, "no CRLF in %q", raw)
	n, err := strconv.Atoi(raw[1:i])
	require.NoError(t, err, "bad length in %q", raw)
	body := raw[i+2:]
	require.Equal(t, n+2, len(body), "bulk length of %q", raw)
	require.True(t, strings.HasSuffix(body, "\r\n"), "bulk not terminated by CRLF: %q", raw)
	body = body[:n]
	if raw[0] == '=' {
		require.True(t, strings.HasPrefix(body, "txt:"), "verbatim string of format other than txt: %q", raw)
		body = body[4:]
	}
	return body
}

// InfoField returns the value of `name:` in an INFO payload (CRLF lines); it fails the test
// when the field is missing.
func InfoField(t testing.TB, info, name string) string {
	t.Helper()
	v, ok := LookupInfoField(info, name)
	require.True(t, ok, "INFO has no %s field:\n%s", name, info)
	return v
}

// LookupInfoField returns the value of `name:` in an INFO payload and whether it is there.
func LookupInfoField(info, name string) (string, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:([^\r\n]*)\r$`).FindStringSubmatch(info)
	if m == nil {
		return "", false
	}
	return m[1], true
}
