/* test_allow: the dashboard's Host and Origin allow-lists (dash_allow.c)
 * and the loopback test of listen addresses (netaddr.c). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "coordinator/dash_allow.h"
#include "tap.h"

static void
test_default_hosts(void)
{
	struct dash_allow *a = dash_allow_default_hosts("127.0.0.1", 8080);
	char desc[256];

	ok(a != NULL, "the default list of 127.0.0.1:8080");
	ok(dash_allow_host(a, "127.0.0.1:8080") &&
	    dash_allow_host(a, "localhost:8080") &&
	    dash_allow_host(a, "LocalHost:8080") &&
	    dash_allow_host(a, "[::1]:8080") && dash_allow_host(a, "[0::1]:8080"),
	    "localhost, 127.0.0.1 and [::1] with the port are answered");
	ok(!dash_allow_host(a, "evil.example:8080") &&
	    !dash_allow_host(a, "evil.example") &&
	    !dash_allow_host(a, "127.0.0.1.evil.example:8080"),
	    "another name (DNS rebinding) is not");
	ok(!dash_allow_host(a, "127.0.0.1:8081") && !dash_allow_host(a,
	    "127.0.0.1") && !dash_allow_host(a, "localhost:80"),
	    "nor the right name with another port (none means 80)");
	ok(!dash_allow_host(a, "127.0.0.1:8080 ") &&
	    !dash_allow_host(a, "127.0.0.1:08080x") &&
	    !dash_allow_host(a, "::1:8080") && !dash_allow_host(a, "") &&
	    !dash_allow_host(a, "127.0.0.1:8080\n") &&
	    !dash_allow_host(a, "user@127.0.0.1:8080") &&
	    !dash_allow_host(a, "[::1]x:8080") && !dash_allow_host(a, NULL),
	    "malformed Host values never match");
	dash_allow_describe(a, desc, sizeof(desc));
	ok(strcmp(desc, "localhost:8080, 127.0.0.1:8080, [::1]:8080") == 0,
	    "described for the log: %s", desc);
	dash_allow_free(a);

	a = dash_allow_default_hosts("192.168.7.2", 80);
	ok(dash_allow_host(a, "192.168.7.2") && dash_allow_host(a,
	    "192.168.7.2:80") && dash_allow_host(a, "localhost"),
	    "the listen address is on the list; port 80 may be left out");
	dash_allow_free(a);
	a = dash_allow_default_hosts("0.0.0.0", 8080);
	ok(!dash_allow_host(a, "0.0.0.0:8080") &&
	    dash_allow_host(a, "127.0.0.1:8080"),
	    "a wildcard listen address is not a name: loopback names only");
	dash_allow_free(a);
	a = dash_allow_default_hosts("::1", 9000);
	dash_allow_describe(a, desc, sizeof(desc));
	ok(strcmp(desc, "localhost:9000, 127.0.0.1:9000, [::1]:9000") == 0,
	    "an IPv6 listen address that is already listed is not repeated");
	dash_allow_free(a);
}

static void
test_configured(void)
{
	char *hosts[] = { "Dash.Example.com", "10.1.2.3:8080", "[fd00::2]:81" };
	char *bad[] = { "ok.example", "bad/host" };
	char *star[] = { "*" };
	char *origins[] = { "https://dash.example.com", "http://127.0.0.1:8080" };
	char *badorig[] = { "dash.example.com" };
	struct dash_allow *a, *o;
	char err[200];

	a = dash_allow_new("[dashboard] allowed_hosts", hosts, 3, 0, err,
	    sizeof(err));
	ok(a != NULL, "a configured Host list");
	ok(dash_allow_host(a, "dash.example.com") &&
	    dash_allow_host(a, "dash.example.COM:8443"),
	    "a name without a port matches on any port, in any case");
	ok(dash_allow_host(a, "10.1.2.3:8080") &&
	    !dash_allow_host(a, "10.1.2.3:8081") &&
	    dash_allow_host(a, "[fd00:0::2]:81") &&
	    !dash_allow_host(a, "127.0.0.1:8080"),
	    "a port given must match; configured names replace the defaults");

	o = dash_allow_origins_of(a);
	ok(o && dash_allow_origin(o, "https://dash.example.com") &&
	    dash_allow_origin(o, "http://dash.example.com:8080") &&
	    dash_allow_origin(o, "http://10.1.2.3:8080") &&
	    !dash_allow_origin(o, "http://10.1.2.3") &&
	    !dash_allow_origin(o, "ftp://dash.example.com") &&
	    !dash_allow_origin(o, "https://evil.example") &&
	    !dash_allow_origin(o, "null"),
	    "default origins: http and https of the allowed hosts, nothing else");
	dash_allow_free(o);
	dash_allow_free(a);

	a = dash_allow_new("[dashboard] allowed_hosts", bad, 2, 0, err,
	    sizeof(err));
	ok(a == NULL && strstr(err, "[dashboard] allowed_hosts") &&
	    strstr(err, "bad/host"),
	    "a malformed entry is refused, naming key and entry: %s", err);
	a = dash_allow_new("k", star, 1, 0, err, sizeof(err));
	ok(a && dash_allow_host(a, "anything.example:1"),
	    "* answers every Host (the operator's explicit choice)");
	dash_allow_free(a);

	o = dash_allow_new("[dashboard] allowed_origins", origins, 2, 1, err,
	    sizeof(err));
	ok(o && dash_allow_origin(o, "https://dash.example.com") &&
	    dash_allow_origin(o, "https://dash.example.com:443") &&
	    dash_allow_origin(o, "HTTP://127.0.0.1:8080"),
	    "configured origins match exactly, the scheme's port by default");
	ok(o && !dash_allow_origin(o, "http://dash.example.com") &&
	    !dash_allow_origin(o, "https://dash.example.com:8443") &&
	    !dash_allow_origin(o, "https://dash.example.com/") &&
	    !dash_allow_origin(o, "https://dash.example.com.evil.example"),
	    "another scheme, port, a path or a longer name do not");
	dash_allow_free(o);
	o = dash_allow_new("[dashboard] allowed_origins", badorig, 1, 1, err,
	    sizeof(err));
	ok(o == NULL && strstr(err, "allowed_origins"),
	    "an origin without its scheme is refused: %s", err);
}

static void
test_loopback(void)
{
	ok(netaddr_is_loopback("127.0.0.1") && netaddr_is_loopback("127.9.9.9")
	    && netaddr_is_loopback("::1") && netaddr_is_loopback("[::1]") &&
	    netaddr_is_loopback("::ffff:127.0.0.1") &&
	    netaddr_is_loopback("localhost"),
	    "127/8, ::1, mapped 127/8 and localhost are loopback");
	ok(!netaddr_is_loopback("") && !netaddr_is_loopback("0.0.0.0") &&
	    !netaddr_is_loopback("::") && !netaddr_is_loopback("[::]") &&
	    !netaddr_is_loopback("10.0.0.1") && !netaddr_is_loopback("192.0.2.1")
	    && !netaddr_is_loopback("fd00::2") && !netaddr_is_loopback(NULL),
	    "wildcards and other addresses are not");
}

int
main(void)
{
	test_default_hosts();
	test_configured();
	test_loopback();
	return tap_done();
}
