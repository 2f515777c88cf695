// Package shared is the benchmark interface of the go-plugin anchor, and
// its net/rpc and gRPC glue, as go-plugin's own examples write them.
package shared

import (
	"context"
	"net/rpc"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"rivetbench/benchpb"
)

// Handshake is the host and plugin's shared secret-less handshake.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "RIVET_BENCH_PLUGIN",
	MagicCookieValue: "anchors",
}

// TransportVar tells the plugin which transport the host asked for.
const TransportVar = "RIVET_BENCH_TRANSPORT"

// Bench is the interface: a no-op, and an echo.
type Bench interface {
	Noop() error
	Echo(data []byte) ([]byte, error)
}

// ---- net/rpc

// RPCClient calls the plugin over net/rpc.
type RPCClient struct{ client *rpc.Client }

// Noop calls the plugin's Noop.
func (c *RPCClient) Noop() error {
	var reply int
	return c.client.Call("Plugin.Noop", 0, &reply)
}

// Echo calls the plugin's Echo.
func (c *RPCClient) Echo(data []byte) ([]byte, error) {
	var reply []byte
	err := c.client.Call("Plugin.Echo", data, &reply)
	return reply, err
}

// RPCServer serves an implementation over net/rpc.
type RPCServer struct{ Impl Bench }

// Noop serves Noop.
func (s *RPCServer) Noop(_ int, reply *int) error { return s.Impl.Noop() }

// Echo serves Echo.
func (s *RPCServer) Echo(data []byte, reply *[]byte) error {
	out, err := s.Impl.Echo(data)
	*reply = out
	return err
}

// RPCPlugin is the net/rpc plugin.
type RPCPlugin struct{ Impl Bench }

// Server returns the net/rpc server.
func (p *RPCPlugin) Server(*plugin.MuxBroker) (interface{}, error) {
	return &RPCServer{Impl: p.Impl}, nil
}

// Client returns the net/rpc client.
func (*RPCPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return &RPCClient{client: c}, nil
}

// ---- gRPC

// GRPCClient calls the plugin over gRPC.
type GRPCClient struct{ client benchpb.BenchClient }

// Noop calls the plugin's Noop.
func (c *GRPCClient) Noop() error {
	_, err := c.client.Noop(context.Background(), &benchpb.Empty{})
	return err
}

// Echo calls the plugin's Echo.
func (c *GRPCClient) Echo(data []byte) ([]byte, error) {
	reply, err := c.client.Echo(context.Background(), &benchpb.Bytes{Data: data})
	if err != nil {
		return nil, err
	}
	return reply.Data, nil
}

// GRPCServer serves an implementation over gRPC.
type GRPCServer struct{ Impl Bench }

// Noop serves Noop.
func (s *GRPCServer) Noop(context.Context, *benchpb.Empty) (*benchpb.Empty, error) {
	return &benchpb.Empty{}, s.Impl.Noop()
}

// Echo serves Echo.
func (s *GRPCServer) Echo(_ context.Context, req *benchpb.Bytes) (*benchpb.Bytes, error) {
	out, err := s.Impl.Echo(req.Data)
	return &benchpb.Bytes{Data: out}, err
}

// GRPCPlugin is the gRPC plugin.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Bench
}

// GRPCServer registers the gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	benchpb.RegisterBenchServer(s, &GRPCServer{Impl: p.Impl})
	return nil
}

// GRPCClient returns the gRPC client.
func (*GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &GRPCClient{client: benchpb.NewBenchClient(c)}, nil
}
