package bootstrap

import (
	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/server"
)

// HTTPLimits are the limits of a service's HTTP port, from its Process
// configuration.
func HTTPLimits(p config.Process) server.HTTPLimits {
	return server.HTTPLimits{
		ReadHeaderTimeout: p.HTTPReadHeaderTimeout,
		ReadTimeout:       p.HTTPReadTimeout,
		WriteTimeout:      p.HTTPWriteTimeout,
		IdleTimeout:       p.HTTPIdleTimeout,
		MaxHeaderBytes:    p.HTTPMaxHeaderBytes,
		MaxConns:          p.HTTPMaxConns,
	}
}
