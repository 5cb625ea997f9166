package redact_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

// slackText asks the Slack bridge for the verdict with a signed /fixloop command, the answer carrying
// the verdict and the raw line (as progress and as text), and returns everything posted or edited.
func slackText(t *testing.T, line string) string {
	_, v := verdictFor(t, line)
	api := slacktesting.NewRecorder(t)
	const secret = "corpus"
	b := &fxslack.Bridge{SigningSecret: secret, Client: api.Client(),
		Commands: map[string]fxslack.Command{"analyze": func(_ context.Context, _ []string, progress func(string)) (*fxslack.Reply, error) {
			progress("reading logs: " + line)
			text := v.Analysis + "\nRoot cause: " + v.RootCause + "\n" + line
			for _, e := range v.Evidence {
				text += "\n" + strings.Join(e.Examples, "\n")
			}
			return &fxslack.Reply{Text: text, Actions: []fxslack.Action{{Label: "Abort", Command: "abort o/r"}}}, nil
		}}}
	srv := httptest.NewServer(b.SlashHandler())
	defer srv.Close()
	body := slacktesting.Slash("analyze o/r", "U1").Encode()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
	req.Header = slacktesting.Sign(body, time.Now(), secret, "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	b.Wait()
	if n := len(api.Calls()); n < 2 {
		t.Fatalf("the bridge posted %d texts, want the request and the answer", n)
	}
	return api.Text()
}

func init() { surfaces = append(surfaces, surface{"Slack text", slackText}) }
