package util

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes on dir (which must be empty), so a test can fill the
// file system a server's data dir lives on; it is unmounted at the end of the test. Mounting needs root, which `make
// test` has (it installs apt packages); elsewhere the test fails rather than skip silently.
func SmallDisk(t testing.TB, dir string, size int64) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("mounting a tmpfs for the disk-full test needs root (run as root, as make test in CI does)")
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	// Lazily: a server started before the mount was registered is stopped by a cleanup that
	// runs after this one; the file system goes away when its last user does.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// FreeBytes is the space available on the file system holding dir.
func FreeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// FillDisk writes a filler file in dir until leave bytes (or less) are free on its file system,
// and returns the file's path (delete it to free the space). A short write at ENOSPC is fine.
func FillDisk(t testing.TB, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		free := FreeBytes(t, dir)
		n := free - leave
		if n <= 0 {
			return path
		}
		if n > int64(len(chunk)) {
			n = int64(len(chunk))
		}
		if _, err := f.Write(chunk[:n]); err != nil {
			return path // ENOSPC: as full as it gets
		}
	}
}
