module github.com/ssokit/platform/services/shop

go 1.26.0

require github.com/ssokit/platform/services/other v0.0.0

replace github.com/ssokit/platform/services/other => ../other
