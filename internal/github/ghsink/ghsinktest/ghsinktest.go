// Package ghsinktest serves the local GitHub stand-in (ghsink) to a test.
package ghsinktest

import (
	"net/http/httptest"
	"testing"

	"github.com/fixloop/fixloop/internal/github/ghsink"
)

// Start serves a ghsink made with o on a local server that closes when the test ends, with the links
// it hands out (html_url, clone URLs) pointing at that server. Clients take ts.URL + "/" as their
// API base.
func Start(tb testing.TB, o ghsink.Options) (sink *ghsink.Server, ts *httptest.Server) {
	tb.Helper()
	sink, err := ghsink.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ts = httptest.NewServer(sink)
	tb.Cleanup(ts.Close)
	sink.SetBaseURL(ts.URL)
	return sink, ts
}
