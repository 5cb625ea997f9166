package report

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/fixloop/fixloop/internal/redact"
)

// Handler serves GET /reports/{id} from kv. Authentication is the server's (a read-scoped route).
func Handler(kv KV, red *redact.Redactor, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rep, err := Load(r.Context(), kv, r.PathValue("id"))
		if errors.Is(err, ErrNotFound) {
			http.Error(w, "no report with this id", http.StatusNotFound)
			return
		}
		if err != nil {
			logger.Error("report unreadable", "id", r.PathValue("id"), "err", err)
			http.Error(w, "report unreadable (see the server log)", http.StatusInternalServerError)
			return
		}
		if fix, err := LoadFix(r.Context(), kv, rep.Verdict.Fingerprint); err != nil {
			logger.Warn("fix state unreadable", "fingerprint", rep.Verdict.Fingerprint, "err", err)
		} else if fix != nil {
			rep.Fix = fix
		}
		page, err := Render(*rep, red)
		if err != nil {
			logger.Error("report render failed", "id", rep.ID, "err", err)
			http.Error(w, "report could not be drawn (see the server log)", http.StatusInternalServerError)
			return
		}
		page.WriteTo(w)
	})
}

// WriteTo sends the page with its security headers.
func (p Page) WriteTo(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store") // verdicts quote production logs
	h.Set("X-Frame-Options", "DENY")
	_, _ = w.Write(p.HTML)
}
