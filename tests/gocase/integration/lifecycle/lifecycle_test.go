package lifecycle

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// A supervisor may send SIGTERM at any moment after the readiness line: the server must already
// handle it then (clean exit, status 0), not die of the default signal action.
func TestSigtermRightAfterReady(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	srv.Close()
	for i := 0; i < 20; i++ {
		srv.Restart() // Close (SIGTERM, exit 0 required) right after the previous start printed REDRAFT_READY
	}
	c := srv.NewTCPClient()
	require.Equal(t, "+PONG\r\n", c.Do("PING"))
	c.Close()
	srv.Close()
}
