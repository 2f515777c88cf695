// The go-plugin anchor's plugin: Noop returns at once, Echo returns its
// input, over the transport the host asks for.
package main

import (
	"os"

	plugin "github.com/hashicorp/go-plugin"

	"rivetbench/shared"
)

type bench struct{}

func (bench) Noop() error                      { return nil }
func (bench) Echo(data []byte) ([]byte, error) { return data, nil }

func main() {
	config := &plugin.ServeConfig{HandshakeConfig: shared.Handshake}
	if os.Getenv(shared.TransportVar) == "grpc" {
		config.Plugins = map[string]plugin.Plugin{"bench": &shared.GRPCPlugin{Impl: bench{}}}
		config.GRPCServer = plugin.DefaultGRPCServer
	} else {
		config.Plugins = map[string]plugin.Plugin{"bench": &shared.RPCPlugin{Impl: bench{}}}
	}
	plugin.Serve(config)
}
