# dash_browser.sh: the dashboard page in a real browser (Debian's headless
# Chromium driven by playwright-core from tests/browser/) against the
# fixture coordinator; screenshots land in $B/tests/system/out/.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

browser_driver dashboard.mjs
out=$B/tests/system/out
mkdir -p "$out"

# The driver starts (and restarts) the fixture coordinator itself.
node "$drv/dashboard.mjs" "$out" "$B/tests/system/dash_fixture" \
    --static "$S/www" --tick-ms 400
