// Package slacktesting holds what tests need to talk to fixloop's Slack bridge the way Slack does.
package slacktesting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Sign returns the headers Slack sends with body at time at: the v0 signature (HMAC-SHA256 over
// "v0:timestamp:body" with the app's signing secret), its timestamp and contentType.
func Sign(body string, at time.Time, secret, contentType string) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", contentType)
	return h
}

// ButtonValue returns the value of the button with actionID in the Block Kit blocks of a recorded Web
// API call, or "" when it has none.
func ButtonValue(form url.Values, actionID string) string {
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	_ = json.Unmarshal([]byte(form.Get("blocks")), &blocks)
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	return ""
}

// Channel is the channel the payload builders below speak in.
const Channel = "C1"

// Slash is the form Slack posts for "/fixloop text" typed by user in Channel (over Socket Mode, the
// envelope's payload carries the same fields).
func Slash(text, user string) url.Values {
	return url.Values{"command": {"/fixloop"}, "text": {text}, "channel_id": {Channel}, "user_id": {user}, "team_id": {"T1"}}
}

// Press is the block_actions payload (JSON) Slack sends when user presses the button (actionID, value)
// on message ts in Channel; thread is the message's thread_ts ("" for a message starting no thread).
func Press(user, actionID, value, ts, thread string) string {
	msg := map[string]any{"ts": ts}
	if thread != "" {
		msg["thread_ts"] = thread
	}
	payload, _ := json.Marshal(map[string]any{
		"type":    "block_actions",
		"user":    map[string]any{"id": user},
		"channel": map[string]any{"id": Channel},
		"message": msg,
		"actions": []map[string]any{{"block_id": "b1", "action_id": actionID, "value": value, "type": "button"}},
	})
	return string(payload)
}

// PressForm is Press as the interactivity endpoint's form body (payload=...).
func PressForm(user, actionID, value, ts, thread string) url.Values {
	return url.Values{"payload": {Press(user, actionID, value, ts, thread)}}
}
