package triage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/argorun"
	"github.com/fixloop/fixloop/internal/testenv"
)

// The metric plugin's asynchronous routes without a cluster: start answers at once, the analysis ends
// inconclusive (never a pass), the same id joins the same analysis, delete forgets it, bad input is 400.
func TestArgoRunsLifecycleWithoutCluster(t *testing.T) {
	tr, mux := newTestTriage(t)
	tr.RegisterArgoRuns(context.Background(), mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(body string) (*http.Response, argorun.Status) {
		t.Helper()
		resp, err := http.Post(srv.URL+argorun.Path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st argorun.Status
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return resp, st
	}
	for name, body := range map[string]string{
		"slash in id": `{"id":"../x","namespace":"ns","rollout":"r"}`,
		"no rollout":  `{"id":"a","namespace":"ns"}`,
		"not json":    `{`,
	} {
		if resp, _ := post(body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	body := `{"id":"uid-1.verdict.0","namespace":"ns","rollout":"shop","canaryHash":"abc"}`
	resp, st := post(body)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		t.Fatalf("start = %d", resp.StatusCode)
	}
	_ = testenv.Poll(context.Background(), 50*time.Millisecond, 30*time.Second, func() (bool, string) {
		if st.State != argorun.StateRunning {
			return true, ""
		}
		r, err := http.Get(srv.URL + argorun.Path + "/uid-1.verdict.0")
		if err != nil {
			t.Fatal(err)
		}
		st = argorun.Status{}
		_ = json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		return st.State != argorun.StateRunning, ""
	})
	if st.State == argorun.StateDone && (st.Result == nil || st.Result.Promote || st.Result.Verdict != VerdictInconclusive) {
		t.Fatalf("without a cluster the analysis must not pass: %+v %+v", st, st.Result)
	}
	if st.State != argorun.StateDone && st.State != argorun.StateFailed {
		t.Fatalf("analysis state %q after 30s", st.State)
	}
	if _, again := post(body); again.StartedAt != st.StartedAt {
		t.Fatal("starting the same id again started a second analysis")
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+argorun.Path+"/uid-1.verdict.0", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %v %v", r, err)
	}
	if r, _ := http.Get(srv.URL + argorun.Path + "/uid-1.verdict.0"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted analysis still answers %d", r.StatusCode)
	}
}
