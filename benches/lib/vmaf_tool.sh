# Sourced by the benchmark scripts: builds libvmaf's `vmaf` tool in "$1" (a temporary
# folder) from the libvmaf source that libvmaf-sys vendors (the code the libvmaf plugin
# links) and sets $vmaf to it. Needs meson, ninja, nasm and a C compiler.
build_vmaf_tool() {
    local into=$1 vendored
    vendored=$(cargo metadata --format-version 1 | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
[pkg] = [p for p in meta["packages"] if p["name"] == "libvmaf-sys"]
print(os.path.join(os.path.dirname(pkg["manifest_path"]), "vmaf", "libvmaf"))')
    meson setup "$into/vmaf-build" "$vendored" --buildtype release \
        -Denable_tests=false -Denable_docs=false >/dev/null
    ninja -C "$into/vmaf-build" tools/vmaf >/dev/null
    vmaf="$into/vmaf-build/tools/vmaf"
    "$vmaf" --version >&2
}
