#!/bin/sh
# Cargo's runner for the Windows unit tests (scripts/windows.sh): each test .exe under Wine, with
# the two DLLs otklik.exe has beside it copied beside the test (Wine 8's missing
# bcryptprimitives.dll, and WebView2Loader.dll, which the desktop shell imports), in the prefix
# unit.sh made.
set -eu
deps=$(dirname "$1")
for dll in bcryptprimitives.dll WebView2Loader.dll; do
  [ -f "$deps/$dll" ] || [ ! -f "$deps/../$dll" ] || cp "$deps/../$dll" "$deps/"
done
exec /usr/lib/wine/wine64 "$@"
