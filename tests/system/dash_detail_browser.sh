# dash_detail_browser.sh: the worker page and the pool panel (issue 18) in
# a real browser (Debian's headless Chromium driven by playwright-core from
# tests/browser/) against the fixture coordinator, at desktop and phone
# widths; screenshots land in $B/tests/system/out/.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

browser_driver detail.mjs
out=$B/tests/system/out
mkdir -p "$out"

node "$drv/detail.mjs" "$out" "$B/tests/system/dash_fixture" \
    --static "$S/www" --tick-ms 400
