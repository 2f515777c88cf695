// The go-plugin anchor's host: starts the plugin, times its start, then
// calls it in batches and prints one JSON line: the median batch's time
// per call, the start time, and the plugin process's RSS.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"rivetbench/shared"
)

func main() {
	pluginPath := flag.String("plugin", "./plugin", "the plugin binary")
	transport := flag.String("transport", "rpc", "rpc or grpc")
	calls := flag.Int("calls", 20000, "timed calls")
	payload := flag.Int("payload", 0, "echo payload bytes (0: Noop)")
	flag.Parse()

	protocol := plugin.ProtocolNetRPC
	var plugins map[string]plugin.Plugin
	if *transport == "grpc" {
		protocol = plugin.ProtocolGRPC
		plugins = map[string]plugin.Plugin{"bench": &shared.GRPCPlugin{}}
	} else {
		plugins = map[string]plugin.Plugin{"bench": &shared.RPCPlugin{}}
	}
	cmd := exec.Command(*pluginPath)
	cmd.Env = append(os.Environ(), shared.TransportVar+"="+*transport)

	started := time.Now()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  shared.Handshake,
		Plugins:          plugins,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{protocol},
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: os.Stderr}),
	})
	defer client.Kill()
	rpcClient, err := client.Client()
	check(err)
	raw, err := rpcClient.Dispense("bench")
	check(err)
	bench := raw.(shared.Bench)
	data := bytes.Repeat([]byte{0x5a}, *payload)
	call := func() {
		if *payload == 0 {
			check(bench.Noop())
			return
		}
		out, err := bench.Echo(data)
		check(err)
		if len(out) != len(data) {
			check(fmt.Errorf("echo returned %d bytes, not %d", len(out), len(data)))
		}
	}
	call()
	startMs := float64(time.Since(started).Nanoseconds()) / 1e6

	for i := 0; i < 1000; i++ {
		call()
	}
	const batches = 20
	per := *calls / batches
	if per < 1 {
		per = 1
	}
	times := make([]float64, 0, batches)
	for b := 0; b < batches; b++ {
		t := time.Now()
		for i := 0; i < per; i++ {
			call()
		}
		times = append(times, float64(time.Since(t).Nanoseconds())/float64(per))
	}
	sort.Float64s(times)

	rss := 0
	if reattach := client.ReattachConfig(); reattach != nil {
		rss = rssKB(reattach.Pid)
	}
	line, _ := json.Marshal(map[string]interface{}{
		"transport":          *transport,
		"payload":            *payload,
		"median_ns_per_call": times[len(times)/2],
		"start_ms":           startMs,
		"plugin_rss_kb":      rss,
	})
	fmt.Println(string(line))
}

func rssKB(pid int) int {
	status, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%d", &kb)
			return kb
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "anchor host:", err)
		os.Exit(1)
	}
}
