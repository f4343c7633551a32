package cli

import (
	"io"
	"log/slog"

	"github.com/parley-im/parley/internal/config"
)

// newLogger builds the one logger of a server process, writing to w at the
// configured level in text or JSON. cfg must have passed Validate.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	switch cfg.LogLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
