/* cli/term.h — the terminal of the live view: raw keys, the alternate screen, and putting both
 * back however the program ends. */
#ifndef HOSTMON_CLI_TERM_H
#define HOSTMON_CLI_TERM_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * API:
 *   term_signals() installs handlers for SIGINT, SIGTERM, SIGHUP: they set
 *   term_stop, which also aborts a scrape in flight and ends a wait (the
 *   table is redrawn at the next refresh, at the terminal's size then).
 *   term_begin() puts a terminal on stdin/stdout into non-canonical,
 *   no-echo mode (signals from keys kept: ^C still stops) on the alternate
 *   screen with the cursor hidden; 0, or -ENOTTY. term_end() restores all
 *   of it; safe to call twice, and registered with atexit by term_begin().
 *   term_size() gives rows and columns (24x80 when unknown).
 */
extern atomic_bool term_stop;

void term_signals(void);
int term_begin(void);
void term_end(void);
void term_size(int *rows, int *cols);

#endif
