// Package service assembles the welcome-notifier process: the one place
// where configuration, adapters and the event consumer are built and
// connected. cmd/welcome-notifier and the end-to-end tests both use it.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/smtp"

	"github.com/ssokit/platform/libs/kafkahealth"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
)

// Name is the service name in logs, traces and metrics.
const Name = "welcome-notifier"

// New builds the welcome-notifier process. It listens on the configured
// port but serves nothing until the returned Process runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	kafka, err := kafkahealth.New(cfg.Kafka.Brokers)
	if err != nil {
		return nil, err
	}
	p.Defer(kafka.Close)
	health.Add("kafka", kafka.Check)
	health.Add("smtp", func(context.Context) error { return smtpAnswers(cfg.SMTP.Addr) })

	h, err := server.NewHTTP("http", cfg.HTTPAddr, server.NewMux(health, server.NewRegistry()))
	if err != nil {
		return nil, err
	}
	p.Serve(h)
	return p, nil
}

// smtpAnswers reports whether the SMTP server greets and says goodbye.
func smtpAnswers(addr string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	return c.Quit()
}
