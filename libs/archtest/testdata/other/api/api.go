// Package api stands for another service's code.
package api

// Version is exported so the importer has something to use.
const Version = 1
