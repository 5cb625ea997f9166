package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startProcess runs bin in its own process group with output to logs/<name>.log and records its pid in
// pids/<name>.pid, so Stop can kill the whole group even after the starting process has exited.
func startProcess(dir, name, bin string, args []string, env []string) (*exec.Cmd, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	cmd.Env = env
	// Setsid: a new session and process group, detached from the caller's terminal and its Ctrl-C.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	if err := writePid(dir, name, cmd.Process.Pid); err != nil {
		_ = killGroup(cmd.Process.Pid, syscall.SIGKILL)
		return nil, err
	}
	// Reap it when it exits so a dead component is not left as a zombie that still answers kill(0).
	go func() { _ = cmd.Wait() }()
	return cmd, nil
}

func writePid(dir, name string, pid int) error {
	p := filepath.Join(dir, "pids", name+".pid")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// pidFile is one tracked process group.
type pidFile struct {
	name string
	path string
	pid  int
}

func readPids(dir string) []pidFile {
	entries, _ := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	var out []pidFile
	for _, p := range entries {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		out = append(out, pidFile{name: strings.TrimSuffix(filepath.Base(p), ".pid"), path: p, pid: pid})
	}
	return out
}

// alive reports whether pid runs (zombies count as dead: PID 1 may be slow to reap orphans).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// groupAlive reports whether any non-zombie process is still in process group pgid.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	want, alive := strconv.Itoa(pgid), false
	eachProcStat(func(f []string) {
		if f[2] == want && f[0] != "Z" {
			alive = true
		}
	})
	return alive
}

// eachProcStat calls fn with the fields of every /proc/<pid>/stat after the command name
// (f[0] state, f[1] ppid, f[2] pgrp, ..., f[21] rss in pages); shorter lines are skipped.
func eachProcStat(fn func(f []string)) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) >= 22 {
			fn(f)
		}
	}
}

func killGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// stopGroups sends SIGTERM to every group, waits up to grace, then SIGKILLs what is left and waits again.
func stopGroups(pids []pidFile, grace time.Duration) error {
	for _, p := range pids {
		_ = killGroup(p.pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && anyGroupAlive(pids) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range pids {
		if groupAlive(p.pid) {
			_ = killGroup(p.pid, syscall.SIGKILL)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && anyGroupAlive(pids) {
		time.Sleep(100 * time.Millisecond)
	}
	var left []string
	for _, p := range pids {
		if groupAlive(p.pid) {
			left = append(left, fmt.Sprintf("%s (pid %d)", p.name, p.pid))
		} else {
			_ = os.Remove(p.path)
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		return fmt.Errorf("processes survived SIGKILL: %s", strings.Join(left, ", "))
	}
	return nil
}

func anyGroupAlive(pids []pidFile) bool {
	for _, p := range pids {
		if groupAlive(p.pid) {
			return true
		}
	}
	return false
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// Process is one tracked process group of an environment.
type Process struct {
	Name  string
	Pid   int
	Alive bool
}

// Processes lists the process groups tracked in dir.
func Processes(dir string) []Process {
	var out []Process
	for _, p := range readPids(dir) {
		out = append(out, Process{Name: p.name, Pid: p.pid, Alive: groupAlive(p.pid)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ResidentMemory sums the resident memory of every process in the groups tracked in dir.
func ResidentMemory(dir string) (bytes int64, processes int) {
	groups := map[string]bool{}
	for _, p := range readPids(dir) {
		groups[strconv.Itoa(p.pid)] = true
	}
	eachProcStat(func(f []string) {
		if !groups[f[2]] || f[0] == "Z" {
			return
		}
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		bytes += pages * int64(os.Getpagesize())
		processes++
	})
	return bytes, processes
}

// StartTracked starts another process as part of the environment in dir (its own process group, output
// in logs/<name>.log), so Stop and `fixloop testenv down` stop it with the rest.
func StartTracked(dir, name, bin string, args, env []string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// A process of the same name from an earlier run (e.g. a second `make demo`) is replaced, not orphaned.
	for _, p := range readPids(abs) {
		if p.name == name && groupAlive(p.pid) {
			if err := stopGroups([]pidFile{p}, 5*time.Second); err != nil {
				return fmt.Errorf("stopping the earlier %s: %w", name, err)
			}
		}
	}
	_, err = startProcess(abs, name, bin, args, env)
	return err
}
