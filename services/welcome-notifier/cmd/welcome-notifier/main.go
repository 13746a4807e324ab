// Command welcome-notifier consumes UserRegistered events and sends each
// new user one welcome e-mail, and AccountEvents, sending one mail per
// verification request, reset request and password change.
//
// Usage:
//
//	welcome-notifier                                  consume (migrating the database first)
//	welcome-notifier dlq replay [--limit N] [--dry-run]
//	                                                  move UserRegistered dead letters back to their topic and exit
//	welcome-notifier dlq replay account [--limit N] [--dry-run]
//	                                                  the same for AccountEvent dead letters
package main

import (
	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
)

func main() {
	bootstrap.Main(bootstrap.Program[config.Config]{
		Name:     service.Name,
		Load:     config.Load,
		Start:    service.New,
		Commands: service.Commands(),
	})
}
