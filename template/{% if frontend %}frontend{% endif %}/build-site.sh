#!/bin/sh
# Assemble what the web image serves into one directory, files copied as they are (no bundler):
# the app's public files and the Lit packages its import map names. index.html then points at
# /static/<build>/, <build> being a hash of the content, so nginx lets browsers cache those URLs
# forever and the service worker keeps one cache per build.
#   sh build-site.sh <new-directory>      (after `npm ci`; nginx/Dockerfile and make e2e run it)
set -eu
site="${1:?usage: build-site.sh <new-directory>}"
cd "$(dirname "$0")"
if [ ! -d node_modules/lit ]; then
  echo "build-site.sh: node_modules/lit is missing; run npm ci first" >&2
  exit 1
fi
public="index.html sw.js robots.txt manifest.webmanifest src icons"
# shellcheck disable=SC2086 # $public is a list of names without spaces
build="$(find $public package-lock.json -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12)"

mkdir -p "$site/node_modules/@lit"
# shellcheck disable=SC2086
cp -R $public "$site/"
cp -R node_modules/lit node_modules/lit-html node_modules/lit-element "$site/node_modules/"
cp -R node_modules/@lit/reactive-element "$site/node_modules/@lit/"
sed -i "s|/static/dev/|/static/$build/|" "$site/index.html"
# The service worker precaches every file of the app, so a page added later opens offline too.
app_files="$(cd "$site" && find src icons manifest.webmanifest -type f | sort | sed 's/.*/"&",/' | tr -d '\n')"
sed -i "s|^const APP_FILES = \[\];|const APP_FILES = [$app_files];|" "$site/sw.js"
if ! grep -q '^const APP_FILES = \["' "$site/sw.js"; then
  echo "build-site.sh: sw.js has no 'const APP_FILES = [];' line to fill in" >&2
  exit 1
fi
echo "$build"
