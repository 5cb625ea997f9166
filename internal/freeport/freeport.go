// Package freeport finds unused loopback TCP ports for processes that must be told their port before
// they start (kube-apiserver, etcd, PostgreSQL, `fixloop serve` in tests and the demo).
//
// The port is free when returned and may be taken by someone else before it is used; callers that
// can listen themselves should pass "127.0.0.1:0" to net.Listen instead.
package freeport

import (
	"fmt"
	"net"
	"strconv"
)

// Get asks the kernel for an unused port on 127.0.0.1.
func Get() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is Get as a "127.0.0.1:port" listen address.
func Addr() (string, error) {
	p, err := Get()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}
