package config

import (
	"strings"
	"testing"
)

func TestSlackSettingsValidated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slack Slack
		want  string // "" valid
	}{
		{"off", Slack{}, ""},
		{"http mode", Slack{BotToken: "xoxb-1", SigningSecret: "s"}, ""},
		{"socket mode", Slack{BotToken: "xoxb-1", AppToken: "xapp-1"}, ""},
		{"token alone", Slack{BotToken: "xoxb-1"}, "FIXLOOP_SLACK_SIGNING_SECRET or FIXLOOP_SLACK_APP_TOKEN"},
		{"secret alone", Slack{SigningSecret: "s"}, "FIXLOOP_SLACK_BOT_TOKEN"},
		{"bot token as app token", Slack{BotToken: "xoxb-1", AppToken: "xoxb-2"}, "starts with xapp-"},
		{"allowed", Slack{BotToken: "xoxb-1", SigningSecret: "s", AllowedUsers: []string{"U012AB3CD", "W1234"}, AllowedGroups: []string{"S0614TZR7"}}, ""},
		{"user name not id", Slack{BotToken: "xoxb-1", SigningSecret: "s", AllowedUsers: []string{"alice"}}, "--slack-allowed-users"},
		{"group as user", Slack{BotToken: "xoxb-1", SigningSecret: "s", AllowedUsers: []string{"S0614TZR7"}}, "--slack-allowed-users"},
		{"user as group", Slack{BotToken: "xoxb-1", SigningSecret: "s", AllowedGroups: []string{"U012AB3CD"}}, "--slack-allowed-groups"},
	} {
		c := Default()
		c.Slack = tc.slack
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
