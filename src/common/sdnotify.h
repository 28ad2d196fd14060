/*
 * sdnotify.h: tells systemd (Type=notify units) that a daemon is ready,
 * stopping, or alive (the watchdog).  Without NOTIFY_SOCKET every call is a
 * no-op, so the daemons call it unconditionally.
 */
#ifndef COOPMINE_SDNOTIFY_H
#define COOPMINE_SDNOTIFY_H

#include <stdint.h>

/* Sends one state string ("READY=1", "STOPPING=1", "WATCHDOG=1", ...);
 * 0 when sent or when there is nobody to tell, -1 when sending failed. */
int sdnotify_send(const char *state);
/* How often to send WATCHDOG=1, in ms (half the WATCHDOG_USEC systemd set
 * for this process); 0 when there is no watchdog. */
int64_t sdnotify_watchdog_ms(void);

#endif
