/* web/status.h — the status page at / (HTML, no scripts or external assets). */
#ifndef HOSTMON_WEB_STATUS_H
#define HOSTMON_WEB_STATUS_H

#include "lib/buf.h"
#include "status/status.h"

/*
 * API:
 *   web_status_render_html() appends the page for m to out; 0 or -ENOMEM.
 *   Every text of the model is escaped (web_html_escape), so a cgroup path
 *   or an error with markup in it shows as text.
 */
int web_status_render_html(const struct status_model *m, struct buf *out);
void web_html_escape(struct buf *out, const char *s);

#endif
