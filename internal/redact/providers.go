package redact

import "strings"

// Provider tokens with a fixed literal prefix (the families of gitleaks' default rule set that have
// one). Each rule is found with strings.Index on its prefix, which is fast on lines without it; the
// body must then have the rule's length in its character set, so prose ("sk-learn", "key-value")
// does not match.

type prefixRule struct {
	prefix, kind string
	min, max     int // body length bounds after the prefix (max 0: no upper bound)
	body         func(byte) bool
}

func isTokenChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
func isHexLower(c byte) bool  { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') }
func isHex(c byte) bool       { return isHexLower(c) || (c >= 'A' && c <= 'F') }
func isB64Char(c byte) bool   { return isAlnum(c) || c == '+' || c == '/' }
func isDotToken(c byte) bool  { return isTokenChar(c) || c == '.' }
func isAlnumOnly(c byte) bool { return isAlnum(c) }

var prefixRules = []prefixRule{
	// Longer prefixes first where one extends another (sk-ant- and sk-proj- before sk-).
	{"sk-ant-", "anthropic_key", 32, 0, isTokenChar},
	{"sk-proj-", "openai_key", 32, 0, isTokenChar},
	{"sk-svcacct-", "openai_key", 32, 0, isTokenChar},
	{"sk-admin-", "openai_key", 32, 0, isTokenChar},
	{"sk-", "openai_key", 32, 0, isTokenChar},
	{"sk_live_", "stripe_key", 20, 0, isAlnumOnly},
	{"sk_test_", "stripe_key", 20, 0, isAlnumOnly},
	{"rk_live_", "stripe_key", 20, 0, isAlnumOnly},
	{"rk_test_", "stripe_key", 20, 0, isAlnumOnly},
	{"whsec_", "stripe_webhook_secret", 24, 0, isAlnumOnly},
	{"glpat-", "gitlab_token", 20, 0, isTokenChar},
	{"gldt-", "gitlab_token", 20, 0, isTokenChar},
	{"glrt-", "gitlab_token", 20, 0, isTokenChar},
	{"glptt-", "gitlab_token", 20, 0, isTokenChar},
	{"glcbt-", "gitlab_token", 20, 0, isTokenChar},
	{"gloas-", "gitlab_token", 20, 0, isTokenChar},
	{"glimt-", "gitlab_token", 20, 0, isTokenChar},
	{"glft-", "gitlab_token", 20, 0, isTokenChar},
	{"glsoat-", "gitlab_token", 20, 0, isTokenChar},
	{"npm_", "npm_token", 36, 0, isAlnumOnly},
	{"pypi-AgEIcHlwaS5vcmc", "pypi_token", 40, 0, isTokenChar},
	{"SG.", "sendgrid_key", 60, 0, isDotToken},
	{"xapp-", "slack_token", 20, 0, isTokenChar},
	{"hvs.", "vault_token", 24, 0, isTokenChar},
	{"hvb.", "vault_token", 24, 0, isTokenChar},
	{"hvr.", "vault_token", 24, 0, isTokenChar},
	{"dop_v1_", "digitalocean_token", 64, 64, isHexLower},
	{"doo_v1_", "digitalocean_token", 64, 64, isHexLower},
	{"dor_v1_", "digitalocean_token", 64, 64, isHexLower},
	{"shpat_", "shopify_token", 32, 32, isHex},
	{"shpss_", "shopify_token", 32, 32, isHex},
	{"shpca_", "shopify_token", 32, 32, isHex},
	{"shppa_", "shopify_token", 32, 32, isHex},
	{"dapi", "databricks_token", 32, 34, isTokenChar},
	{"dt0c01.", "dynatrace_token", 80, 0, isDotToken},
	{"lin_api_", "linear_key", 40, 0, isAlnumOnly},
	{"PMAK-", "postman_key", 50, 0, isTokenChar},
	{"pul-", "pulumi_token", 40, 40, isHexLower},
	{"dp.pt.", "doppler_token", 40, 0, isAlnumOnly},
	{"dp.st.", "doppler_token", 40, 0, isTokenChar},
	{"sq0atp-", "square_token", 22, 0, isTokenChar},
	{"sq0csp-", "square_secret", 40, 0, isTokenChar},
	{"EAA", "facebook_square_token", 60, 0, isAlnumOnly},
	{"AGE-SECRET-KEY-1", "age_key", 58, 58, isUpperAlnum},
	{"fo1_", "flyio_token", 40, 0, isTokenChar},
	{"glc_", "grafana_token", 32, 0, func(c byte) bool { return isB64Char(c) || c == '=' }},
	{"glsa_", "grafana_token", 32, 0, isTokenChar},
	{"NRAK-", "newrelic_key", 27, 27, isUpperAlnum},
	{"pscale_tkn_", "planetscale_token", 32, 0, isTokenChar},
	{"pscale_pw_", "planetscale_password", 32, 0, isTokenChar},
	{"rubygems_", "rubygems_key", 48, 48, isHexLower},
	{"sntrys_", "sentry_token", 40, 0, func(c byte) bool { return isB64Char(c) || c == '=' || c == '_' }},
	{"sntryu_", "sentry_token", 64, 64, isHexLower},
	{"ATATT3", "atlassian_token", 50, 0, func(c byte) bool { return isTokenChar(c) || c == '=' }},
	{"hf_", "huggingface_token", 34, 40, isAlnumOnly},
	{"dckr_pat_", "docker_token", 27, 0, isTokenChar},
	{"LTAI", "alibaba_key", 20, 24, isAlnumOnly},
	{"HRKU-", "heroku_key", 40, 0, isTokenChar},
	{"CFPAT-", "contentful_token", 43, 0, isTokenChar},
	{"xkeysib-", "brevo_key", 64, 0, isTokenChar},
	{"shippo_live_", "shippo_token", 40, 40, isHex},
	{"FLWSECK-", "flutterwave_key", 32, 0, isTokenChar},
	{"rdme_", "readme_key", 70, 0, isAlnumOnly},
	{"pnu_", "prefect_key", 36, 36, isAlnumOnly},
	{"ops_eyJ", "onepassword_token", 100, 0, func(c byte) bool { return isB64Char(c) || c == '=' || c == '_' || c == '-' }},
	{"tfp_", "typeform_token", 40, 0, isTokenChar},
	{"EZAK", "easypost_key", 54, 54, isAlnumOnly},
	{"key-", "mailgun_key", 32, 32, isHexLower},
	{"SK", "twilio_key", 32, 32, isHexLower},
	{"AC", "twilio_sid", 32, 32, isHexLower},
}

// rulesByFirst indexes prefixRules by the first byte of their prefix: one pass over the line checks
// only token starts whose byte can begin a prefix.
var rulesByFirst = func() (idx [256][]int) {
	for i, r := range prefixRules {
		idx[r.prefix[0]] = append(idx[r.prefix[0]], i)
	}
	return idx
}()

// redactPrefixed finds every prefixRule occurrence at a token start.
func redactPrefixed(s string) string {
	var spans []span
	for i := 0; i < len(s); i++ {
		cands := rulesByFirst[s[i]]
		if len(cands) == 0 || (i > 0 && (isAlnum(s[i-1]) || s[i-1] == '_')) {
			continue
		}
		for _, ri := range cands {
			r := prefixRules[ri]
			if !strings.HasPrefix(s[i:], r.prefix) {
				continue
			}
			b := i + len(r.prefix)
			e := b
			for e < len(s) && r.body(s[e]) {
				e++
			}
			if n := e - b; n < r.min || (r.max > 0 && n > r.max) || (e < len(s) && isAlnum(s[e])) {
				continue
			}
			spans = append(spans, span{i, e, r.kind})
			i = e - 1
			break
		}
	}
	return apply(s, spans)
}

func overlaps(spans []span, a, b int) bool {
	for _, sp := range spans {
		if a < sp.end && sp.start < b {
			return true
		}
	}
	return false
}

// Webhook and bot URLs whose path is the credential: everything after the prefix goes.
var secretURLPrefixes = []struct{ prefix, kind string }{
	{"hooks.slack.com/services/", "slack_webhook"},
	{"hooks.slack.com/workflows/", "slack_webhook"},
	{"hooks.slack.com/triggers/", "slack_webhook"},
	{"discord.com/api/webhooks/", "discord_webhook"},
	{"discordapp.com/api/webhooks/", "discord_webhook"},
	{"api.telegram.org/bot", "telegram_bot_token"},
	{".webhook.office.com/", "teams_webhook"},
	{"outlook.office.com/webhook/", "teams_webhook"},
}

// redactSecretURLs cuts the secret path of webhook/bot URLs (up to whitespace or a quote).
func redactSecretURLs(s string) string {
	var spans []span
	for _, u := range secretURLPrefixes {
		for i := 0; ; {
			k := strings.Index(s[i:], u.prefix)
			if k < 0 {
				break
			}
			start := i + k + len(u.prefix)
			e := start
			for e < len(s) && !strings.ContainsRune(" \t\r\n\"'<>`)]}", rune(s[e])) {
				e++
			}
			i = e
			if e-start >= 8 && !overlaps(spans, start, e) {
				spans = append(spans, span{start, e, u.kind})
			}
		}
	}
	sortSpans(spans)
	return apply(s, spans)
}

// redactTelegramTokens finds bare bot tokens: 8-10 digits, ':', then "AA" and 33 token characters.
func redactTelegramTokens(s string) string {
	var spans []span
	for i := 0; ; {
		k := strings.Index(s[i:], ":AA")
		if k < 0 {
			break
		}
		colon := i + k
		i = colon + 3
		ds := colon
		for ds > 0 && s[ds-1] >= '0' && s[ds-1] <= '9' {
			ds--
		}
		if n := colon - ds; n < 8 || n > 10 || (ds > 0 && isAlnum(s[ds-1])) {
			continue
		}
		e := colon + 1
		for e < len(s) && isTokenChar(s[e]) {
			e++
		}
		if e-colon-1 == 35 {
			spans = append(spans, span{ds, e, "telegram_bot_token"})
			i = e
		}
	}
	return apply(s, spans)
}

// redactMySQLPassword handles the client's -pPASSWORD form (no space after -p) on mysql command lines.
func redactMySQLPassword(s string) string {
	if !strings.Contains(s, "mysql") && !strings.Contains(s, "mariadb") {
		return s
	}
	var spans []span
	for i := 0; ; {
		k := strings.Index(s[i:], " -p")
		if k < 0 {
			break
		}
		vs := i + k + 3
		e := vs
		for e < len(s) && s[e] != ' ' && s[e] != '\t' && s[e] != '\n' && s[e] != '\'' && s[e] != '"' {
			e++
		}
		i = e
		if e > vs && !strings.HasPrefix(s[vs:], "[REDACTED") {
			spans = append(spans, span{vs, e, "password"})
		}
	}
	return apply(s, spans)
}

// redactAzureClientSecrets finds Entra ID client secrets: 3 characters, a digit, "Q~", then 31-34.
func redactAzureClientSecrets(s string) string {
	var spans []span
	for i := 0; ; {
		k := strings.Index(s[i:], "Q~")
		if k < 0 {
			break
		}
		q := i + k
		i = q + 2
		start := q - 4
		if start < 0 || !(s[q-1] >= '0' && s[q-1] <= '9') || (start > 0 && isDotToken(s[start-1])) {
			continue
		}
		e := q + 2
		for e < len(s) && (isDotToken(s[e]) || s[e] == '~') {
			e++
		}
		if n := e - q - 2; n >= 31 && n <= 34 {
			spans = append(spans, span{start, e, "azure_client_secret"})
			i = e
		}
	}
	return apply(s, spans)
}
