// Command welcome-notifier consumes UserRegistered events and sends each
// new user one welcome e-mail. It takes no arguments.
package main

import (
	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
)

func main() {
	bootstrap.Main(bootstrap.Program[config.Config]{
		Name:  service.Name,
		Load:  config.Load,
		Start: service.New,
	})
}
