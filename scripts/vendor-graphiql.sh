#!/usr/bin/env bash
# Refetches the GraphiQL page's third-party files into crates/crm-graphql/assets/graphiql/ from
# the npm registry (npm checks each tarball against the registry's sha512), then checks them
# against SHA256SUMS there. To move to other versions, see the README.md there.
set -euo pipefail
GRAPHIQL=3.9.0
REACT=18.3.1
cd "$(dirname "$0")/.."
out=crates/crm-graphql/assets/graphiql
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for name in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
    mkdir "$tmp/$name"
    tar xzf "$tmp/$name.tgz" -C "$tmp/$name"
done
cp "$tmp/graphiql-$GRAPHIQL/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$tmp/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$tmp/graphiql-$GRAPHIQL/package/LICENSE" "$out/LICENSE.graphiql"
cp "$tmp/react-$REACT/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$tmp/react-$REACT/package/LICENSE" "$out/LICENSE.react"
cp "$tmp/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$tmp/react-dom-$REACT/package/LICENSE" "$out/LICENSE.react-dom"
cd "$out"
files=(graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js)
if [ "${UPDATE:-0}" = 1 ]; then
    sha256sum "${files[@]}" > SHA256SUMS
fi
sha256sum -c SHA256SUMS
