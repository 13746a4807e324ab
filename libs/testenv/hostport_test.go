package testenv_test

import (
	"net"
	"strings"
	"testing"

	"github.com/ssokit/platform/libs/testenv"
)

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@127.0.0.1:5432/db?sslmode=disable": "127.0.0.1:5432",
		"http://127.0.0.1:8081/apis/ccompat/v7":            "127.0.0.1:8081",
		// Multi-host DSNs (a Patroni cluster) name the first node.
		"postgres://u:p@/db?host=127.0.0.1,127.0.0.1&port=15432,15433&target_session_attrs=read-write": "127.0.0.1:15432",
		"postgres://u:p@/db?host=db1,db2": "db1:5432",
	} {
		if got := testenv.HostPort(in); got != want {
			t.Errorf("HostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRequireDialsEachMemberOfAList: a bootstrap list of three brokers is
// one argument whose members must each answer.
func TestRequireDialsEachMemberOfAList(t *testing.T) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	testenv.Require(t, strings.Join(addrs, ","))
}
