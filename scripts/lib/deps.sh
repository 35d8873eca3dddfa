# Installs the Debian packages the build and the tests need, when they are missing (iproute2, ethtool
# and curl for the multi-host tests' network namespaces). Sourced by scripts/setup and
# scripts/test; safe to run again.
walrus_install_system_packages() {
    local packages="librocksdb-dev libsecp256k1-dev iproute2 ethtool curl"
    local missing=""
    for package in $packages; do
        dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    echo "installing system packages:$missing" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >&2
}
