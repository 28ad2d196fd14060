# dash_browser.sh: the dashboard page in a real browser (Debian's headless
# Chromium driven by playwright-core from tests/browser/) against the
# fixture coordinator; screenshots land in $B/tests/system/out/.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP needs $CHROMIUM and node (contrib/install-deps.sh)"
	exit 0
fi
# playwright-core comes from tests/browser (contrib/install-deps.sh runs
# npm ci there).  A tree without it (make distcheck) installs it from the
# lockfile into the test's own directory.
drv=$S/tests/browser
if [ ! -d "$drv/node_modules/playwright-core" ]; then
	mkdir -p "$T/browser"
	cp "$drv/package.json" "$drv/package-lock.json" "$drv/dashboard.mjs" \
	    "$drv/lib.mjs" "$T/browser/"
	if ! npm ci --prefer-offline --no-audit --no-fund --prefix "$T/browser" >"$T/npm.log" 2>&1; then
		sed 's/^/#   /' "$T/npm.log" | tail -20
		echo "not ok 1 - playwright-core is missing: run contrib/install-deps.sh"
		echo "1..1"
		exit 1
	fi
	drv=$T/browser
fi
out=$B/tests/system/out
mkdir -p "$out"

# The driver starts (and restarts) the fixture coordinator itself.
node "$drv/dashboard.mjs" "$out" "$B/tests/system/dash_fixture" \
    --static "$S/www" --tick-ms 400
