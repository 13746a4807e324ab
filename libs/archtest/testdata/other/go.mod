module github.com/ssokit/platform/services/other

go 1.26.0
