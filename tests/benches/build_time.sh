#!/usr/bin/env bash
# The build time `#[rivet::interface]` and `rivet::export!` add (issue 10,
# requirement 10), as recorded in BENCHMARKS.md.
#
# Builds two copies of the `imagine` example's interface crate and its
# `sepia` plugin in a scratch directory, with the same dependencies:
#
# - `macro/`: as in the repository (the trait under `#[rivet::interface]`,
#   the plugin ending in `rivet::export!(ImageFilter => Sepia)`);
# - `plain/`: the same files without those two lines (a plain trait, and a
#   `cdylib` that implements it and exports nothing).
#
# After one build of each (dependencies included, not timed), it times
# `cargo build` of each crate alone after touching its source, REPEAT times
# (default 3), for the dev and release profiles, with CARGO_INCREMENTAL=0
# (a full compile of the crate every time), and prints every time and the
# medians. Each copy has a target directory of its own: Cargo names the
# outputs of path packages by their path inside the workspace, which is the
# same in both. Usage: tests/benches/build_time.sh [SCRATCH_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d)}
repeat=${REPEAT:-3}
export CARGO_INCREMENTAL=0

make_variant() { # NAME STRIP(0|1)
    local dir="$work/$1" strip=$2
    mkdir -p "$dir/interface/src" "$dir/sepia/src"
    cat >"$dir/Cargo.toml" <<EOF
[workspace]
resolver = "3"
members = ["interface", "sepia"]
[workspace.dependencies]
rivet-framework = { path = "$root/framework/rivet" }
abi_stable = { version = "0.11.3", default-features = false }
[profile.release]
debug = "line-tables-only"
EOF
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    cat >"$dir/interface/Cargo.toml" <<EOF
[package]
name = "imagine-interface"
version = "0.1.0"
edition = "2024"
publish = false
[dependencies]
rivet-framework.workspace = true
abi_stable.workspace = true
EOF
    cat >"$dir/sepia/Cargo.toml" <<EOF
[package]
name = "plugin-image-filter-sepia"
version = "0.1.0"
edition = "2024"
publish = false
[lib]
crate-type = ["cdylib"]
[dependencies]
rivet-framework.workspace = true
imagine-interface = { path = "../interface" }
EOF
    local interface="$root/examples/imagine/interface/src/lib.rs"
    local sepia="$root/examples/imagine/plugins/sepia/src/lib.rs"
    if [ "$strip" = 1 ]; then
        grep -v '^#\[rivet::interface' "$interface" >"$dir/interface/src/lib.rs"
        grep -v '^rivet::export!' "$sepia" >"$dir/sepia/src/lib.rs"
    else
        cp "$interface" "$dir/interface/src/lib.rs"
        cp "$sepia" "$dir/sepia/src/lib.rs"
    fi
}

# `cargo build ARGS` in workspace DIR, with its own target directory.
build() { # DIR ARGS...
    local dir=$1
    shift
    CARGO_TARGET_DIR="$dir/target" cargo build --offline --quiet --manifest-path "$dir/Cargo.toml" "$@"
}

# Appends to $work/times the seconds that `cargo build -p PACKAGE` takes in
# workspace DIR after touching FILE.
timed_build() { # DIR PACKAGE FILE PROFILE_ARGS...
    local dir=$1 package=$2 file=$3
    shift 3
    touch "$file"
    local start end
    start=$(date +%s.%N)
    build "$dir" -p "$package" "$@"
    end=$(date +%s.%N)
    echo "$end - $start" | bc >>"$work/times"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

make_variant macro 0
make_variant plain 1
echo "scratch: $work (rustc $(rustc --version | cut -d' ' -f2))"
for profile in dev release; do
    args=()
    [ "$profile" = release ] && args=(--release)
    for variant in macro plain; do
        build "$work/$variant" "${args[@]}"
    done
    for crate in interface sepia; do
        package=imagine-interface
        [ "$crate" = sepia ] && package=plugin-image-filter-sepia
        for variant in macro plain; do
            : >"$work/times"
            for _ in $(seq "$repeat"); do
                timed_build "$work/$variant" "$package" "$work/$variant/$crate/src/lib.rs" "${args[@]}"
            done
            printf '%-8s %-10s %-6s median %6.2f s   (%s)\n' "$profile" "$crate" "$variant" \
                "$(median <"$work/times")" "$(tr '\n' ' ' <"$work/times")"
        done
    done
done
