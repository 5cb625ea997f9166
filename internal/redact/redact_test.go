package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	cases := []struct {
		name, in   string
		gone       []string // must not survive
		keep       []string // must survive
		wantExactl string   // optional exact output
	}{
		{name: "bearer header", in: "GET /x Authorization: Bearer abcDEF123456789xyz.q-w_e",
			gone: []string{"abcDEF123456789xyz"}, keep: []string{"GET /x", "[REDACTED:bearer]"}},
		{name: "jwt", in: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
			gone: []string{"eyJhbGciOiJIUzI1NiJ9", "dozjgNryP4J3"}, keep: []string{"[REDACTED:jwt]", " ok"}},
		{name: "aws key id", in: "using AKIAIOSFODNN7EXAMPLE for s3", gone: []string{"AKIAIOSFODNN7EXAMPLE"},
			wantExactl: "using [REDACTED:aws_access_key] for s3"},
		{name: "aws secret", in: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			gone: []string{"wJalrXUtnFEMI"}, keep: []string{"aws_secret_access_key"}},
		{name: "bare aws secret with slashes", in: "creds wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY loaded",
			gone: []string{"wJalrXUtnFEMI", "bPxRfiCY"}, keep: []string{"[REDACTED:aws_secret_key]", "loaded"}},
		{name: "windows path stays", in: "open GLOBALROOT/Device/HarddiskVolume1/ProgramFiles/x failed",
			keep: []string{"GLOBALROOT/Device/HarddiskVolume1/ProgramFiles/x"}},
		{name: "github classic", in: "push with ghp_1234567890abcdefghijABCDEFGHIJ123456 failed",
			gone: []string{"ghp_1234567890"}, keep: []string{"[REDACTED:github_token]", "failed"}},
		{name: "github fine-grained", in: "GITHUB_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
			gone: []string{"github_pat_11ABC", "abcdefghijklmnop"}},
		{name: "password kv", in: "connecting user=admin password=hunter2 host=db", gone: []string{"hunter2"},
			wantExactl: "connecting user=admin password=[REDACTED:password] host=db"},
		{name: "password json", in: `{"user":"bob","password":"s3cr3t \"x\"","n":1}`, gone: []string{"s3cr3t"},
			wantExactl: `{"user":"bob","password":"[REDACTED:password]","n":1}`},
		{name: "db_password yaml", in: "db_password: p@ssW0rd!", gone: []string{"p@ssW0rd"}},
		{name: "api key header", in: "X-Api-Key: 0123456789abcdef", gone: []string{"0123456789abcdef"}},
		{name: "client secret", in: "client_secret='abc123XYZ'", gone: []string{"abc123XYZ"},
			wantExactl: "client_secret='[REDACTED:secret]'"},
		{name: "pem", in: "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234\nabcd\n-----END RSA PRIVATE KEY-----\nafter",
			gone: []string{"MIIEowIBAAKCAQEA1234", "abcd"}, keep: []string{"[REDACTED:private_key]", "after"}},
		{name: "pem truncated", in: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", gone: []string{"MIIEvQIBADAN"}},
		{name: "url creds", in: "dial postgres://app:Sup3rS3cret@db.internal:5432/app failed",
			gone: []string{"Sup3rS3cret", "app:"}, keep: []string{"postgres://", "@db.internal:5432/app"}},
		{name: "email", in: "sent to jane.doe+x@example.co.uk today", gone: []string{"jane.doe"},
			wantExactl: "sent to [REDACTED:email] today"},
		{name: "basic auth header", in: "Authorization: Basic dXNlcjpwYXNzd29yZA==", gone: []string{"dXNlcjpwYXNzd29yZA"}},
		{name: "slack", in: "slack xoxb-123456789012-abcdefghijkl", gone: []string{"xoxb-1234"}},
		{name: "plain log untouched", in: "GET /api/orders 200 12ms tokens issued: 3 keyboard layout us",
			wantExactl: "GET /api/orders 200 12ms tokens issued: 3 keyboard layout us"},
		{name: "token prose untouched", in: "invalid token provided", wantExactl: "invalid token provided"},
		{name: "empty password kept", in: `password="" set`, wantExactl: `password="" set`},
	}
	r := Default()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.String(c.in)
			for _, g := range c.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q survived redaction: %q", g, got)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got, k) {
					t.Errorf("want %q kept in %q", k, got)
				}
			}
			if c.wantExactl != "" && got != c.wantExactl {
				t.Errorf("got %q\nwant %q", got, c.wantExactl)
			}
		})
	}
}

func TestEmailsConfigurable(t *testing.T) {
	in := "owner ops@example.com"
	if got := New(Config{}).String(in); got != in {
		t.Errorf("emails off: got %q", got)
	}
	if got := Default().String(in); strings.Contains(got, "ops@example.com") {
		t.Errorf("emails on: got %q", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("prefix ", " suffix", "hunter2hunter2", uint8(0))
	f.Add(`{"a":1,`, `}`, "Zx9Zx9Zx9Zx9", uint8(1))
	f.Add("log: ", "\nnext", "abcdefgh12345678", uint8(2))
	f.Add("", "", "QWERTYUIOPASDFGH", uint8(3))
	f.Add("url ", "/path", "pa55word99", uint8(4))
	f.Fuzz(func(t *testing.T, prefix, suffix, secret string, kind uint8) {
		r := Default()
		_ = r.String(prefix + secret + suffix) // arbitrary input never panics
		// Plant an alphanumeric secret in a known secret-bearing context.
		var b strings.Builder
		for _, c := range []byte(secret) {
			if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
				b.WriteByte(c)
			}
		}
		sec := b.String()
		if len(sec) < 8 || !utf8.ValidString(prefix) || !utf8.ValidString(suffix) {
			return
		}
		var planted string
		switch kind % 6 {
		case 0:
			planted = " password=" + sec + " "
		case 1:
			planted = `"api_key":"` + sec + `"`
		case 2:
			planted = "\n-----BEGIN EC PRIVATE KEY-----\n" + sec + "\n-----END EC PRIVATE KEY-----\n"
		case 3:
			planted = " Authorization: Bearer " + sec + " "
		case 4:
			planted = " https://user:" + sec + "@host/ "
		case 5:
			planted = " client_secret: " + sec + "\n"
		}
		in := prefix + planted + suffix
		if strings.Contains(prefix, sec) || strings.Contains(suffix, sec) {
			return
		}
		out := r.String(in)
		if strings.Contains(out, sec) {
			t.Fatalf("secret %q survived in %q (input %q)", sec, out, in)
		}
	})
}

// BenchmarkRedactLogLine measures Default() on log lines without secrets (most of a log: every rule
// must still be tried) and with them (replacements allocate), against a baseline that only copies the
// same bytes, so the lines/s figures read as a cost over touching the data at all.
func BenchmarkRedactLogLine(b *testing.B) {
	clean := []string{
		`2024-05-01T10:00:00Z INFO request completed method=GET path=/api/v1/orders status=200 duration=12ms`,
		`user login ok for user 42 from 10.0.0.1`,
	}
	secrets := []string{
		`{"level":"error","msg":"db connect failed","dsn":"postgres://app:pw@db:5432/x","password":"hunter2"}`,
		`Authorization: Bearer abcDEF123456789xyz0987654321`,
		`user login ok for jane@example.com from 10.0.0.1`,
	}
	r := Default()
	run := func(name string, lines []string, f func(string) string) {
		b.Run(name, func(b *testing.B) {
			var n int64
			for _, l := range lines {
				n += int64(len(l))
			}
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					_ = f(l)
				}
			}
			b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
	run("baseline-copy", append(append([]string{}, clean...), secrets...), strings.Clone)
	run("clean", clean, r.String)
	run("secrets", secrets, r.String)
}
