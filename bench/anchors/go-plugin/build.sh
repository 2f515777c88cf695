#!/usr/bin/env bash
# Builds the go-plugin anchor (host and plugin) into OUT (default ./bin),
# offline, in GOPATH mode, from Debian's Go packages; the gRPC code is
# generated from bench.proto with Debian's protoc and protoc-gen-go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-$here/bin}" && cd "${1:-$here/bin}" && pwd)"
for tool in go protoc protoc-gen-go; do
    command -v "$tool" >/dev/null || {
        echo "build.sh: \`$tool\` is missing: apt-get install golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler" >&2
        exit 1
    }
done
[ -d /usr/share/gocode/src/github.com/hashicorp/go-plugin ] || {
    echo "build.sh: go-plugin's sources are missing: apt-get install golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev" >&2
    exit 1
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp -r "$here/src/rivetbench" "$work/src/"
mkdir -p "$work/src/rivetbench/benchpb"
protoc --proto_path="$here" --go_out=plugins=grpc:"$work/src" "$here/bench.proto"
export GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="${GOCACHE:-$work/cache}" GOFLAGS=
go build -o "$out/host" rivetbench/host
go build -o "$out/plugin" rivetbench/plugin
echo "built $out/host and $out/plugin"
