#!/usr/bin/env bash
# Refetches the console's third-party files into crates/crm-graphql/assets/console/vendor/ from
# the npm registry (npm checks each tarball against the registry's sha512), then checks them
# against SHA256SUMS there. To move to other versions, see the README.md there.
set -euo pipefail
PREACT=10.29.8
HTM=3.1.1
CHARTJS=4.6.1
cd "$(dirname "$0")/.."
out=crates/crm-graphql/assets/console/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "preact@$PREACT" "htm@$HTM" "chart.js@$CHARTJS" >/dev/null)
for name in "preact-$PREACT" "htm-$HTM" "chart.js-$CHARTJS"; do
    mkdir "$tmp/$name"
    tar xzf "$tmp/$name.tgz" -C "$tmp/$name"
done
cp "$tmp/preact-$PREACT/package/dist/preact.min.umd.js" "$out/preact.min.umd.js"
cp "$tmp/preact-$PREACT/package/hooks/dist/hooks.umd.js" "$out/hooks.umd.js"
cp "$tmp/preact-$PREACT/package/LICENSE" "$out/LICENSE.preact"
cp "$tmp/htm-$HTM/package/dist/htm.umd.js" "$out/htm.umd.js"
cp "$tmp/htm-$HTM/package/LICENSE" "$out/LICENSE.htm"
cp "$tmp/chart.js-$CHARTJS/package/dist/chart.umd.min.js" "$out/chart.umd.min.js"
cp "$tmp/chart.js-$CHARTJS/package/LICENSE.md" "$out/LICENSE.chart.js"
cd "$out"
files=(preact.min.umd.js hooks.umd.js htm.umd.js chart.umd.min.js)
if [ "${UPDATE:-0}" = 1 ]; then
    sha256sum "${files[@]}" > SHA256SUMS
fi
sha256sum -c SHA256SUMS
