package redact_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

// slackText asks the Slack bridge for the verdict with a signed /fixloop command, the answer carrying
// the verdict and the raw line (as progress and as text), and returns everything posted or edited.
func slackText(t *testing.T, line string) string {
	_, v := verdictFor(t, line)
	var mu sync.Mutex
	var sent []string
	api := slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range []string{"/chat.postMessage", "/chat.update"} {
			c.Handle(m, func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				mu.Lock()
				sent = append(sent, r.Form.Get("text"), r.Form.Get("blocks"))
				mu.Unlock()
				_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1700000000.000001"}`))
			})
		}
	})
	api.Start()
	defer api.Stop()
	const secret = "corpus"
	b := &fxslack.Bridge{SigningSecret: secret, Client: slack.New("xoxb-x", slack.OptionAPIURL(api.GetAPIURL())),
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
	body := url.Values{"command": {"/fixloop"}, "text": {"analyze o/r"}, "channel_id": {"C1"}, "user_id": {"U1"}}.Encode()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
	req.Header = slacktesting.Sign(body, time.Now(), secret, "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	b.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sent) < 4 {
		t.Fatalf("the bridge posted %d texts, want the request and the answer", len(sent)/2)
	}
	return strings.Join(sent, "\n")
}

func init() { surfaces = append(surfaces, surface{"Slack text", slackText}) }
