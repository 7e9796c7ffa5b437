#!/bin/sh
# Regenerates proto/gen/ from the .proto files (deno task gen:proto).
# Needs Debian protobuf-compiler; the protoc-gen-es plugin comes from npm.
set -eu
cd "$(dirname "$0")"
plugin="$(mktemp)"
trap 'rm -f "$plugin"' EXIT
cat > "$plugin" <<'PLUGIN'
#!/bin/sh
exec deno run -A --no-config npm:@bufbuild/protoc-gen-es@2.17.0 "$@"
PLUGIN
chmod +x "$plugin"
rm -rf gen
mkdir gen
protoc --plugin=protoc-gen-es="$plugin" --es_out=gen \
  --es_opt=target=ts,import_extension=ts \
  sidero/discovery/server/cluster.proto sidero/discovery/client/affiliate.proto \
  edgespan/discovery/affiliate_ext.proto
# Keep the checked-in output clean for deno fmt / lint (generated code
# declares empty messages as `{}`).
for f in $(find gen -name "*.ts"); do
  printf '// deno-lint-ignore-file\n' | cat - "$f" > "$f.tmp" && mv "$f.tmp" "$f"
done
deno fmt --quiet gen
