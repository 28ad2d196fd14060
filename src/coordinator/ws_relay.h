/*
 * ws_relay.h: /ws on the dashboard's port, relayed to the live feed's own
 * listener (see ws_relay.c).  http.c creates one with the address that
 * reaches the feed, and hands it every upgraded connection.
 */
#ifndef COOPMINE_WS_RELAY_H
#define COOPMINE_WS_RELAY_H

#include <stddef.h>

#include <microhttpd.h>

#define WS_RELAY_ACCEPT_LEN	29	/* base64 of a SHA-1, with its NUL */

struct ws_relay;

/* host: a numeric address of the feed's listener; max: relays at once. */
struct ws_relay	*ws_relay_new(const char *host, int port, size_t max);
/* Ends every relay (their browsers see the connection close), frees. */
void		 ws_relay_free(struct ws_relay *r);
/* 1 when max relays run already (the upgrade is refused first). */
int		 ws_relay_full(struct ws_relay *r);
/* Relays an upgraded connection on a thread of its own; origin (NULL:
 * none) is passed on to the feed.  0, or -1 (the caller closes urh). */
int		 ws_relay_start(struct ws_relay *r, MHD_socket sock,
		    const char *extra, size_t extra_len, const char *origin,
		    struct MHD_UpgradeResponseHandle *urh);
/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; 0 or -1. */
int		 ws_relay_accept_key(const char *key,
		    char out[WS_RELAY_ACCEPT_LEN]);
/* Connections relayed since the start. */
unsigned long long ws_relay_count(struct ws_relay *r);

#endif
