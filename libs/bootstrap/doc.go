// Package bootstrap is what every service binary does around its own
// wiring: Main loads the configuration, sets up logging and tracing, runs a
// subcommand (such as "migrate") or builds the process and runs it until a
// signal; OpenDB opens a database the same way everywhere. The servers at
// the end of a service's wiring come from gateway.ServeAPI (the gRPC API,
// its REST facade and Swagger UI) or server.Process.ServeHTTP (health,
// metrics and profiling only), so a service without an API links no
// gateway.
//
// A service's cmd is then a description of the binary:
//
//	func main() {
//		bootstrap.Main(bootstrap.Program[config.Config]{
//			Name:     service.Name,
//			Load:     config.Load,
//			Start:    service.New,
//			Commands: []bootstrap.Command[config.Config]{bootstrap.Migrate(service.Migrate)},
//		})
//	}
package bootstrap
