/* cli/term.h — the terminal of the live view: raw keys, the alternate screen, and putting both
 * back however the program ends. */
#ifndef HOSTMON_CLI_TERM_H
#define HOSTMON_CLI_TERM_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * API:
 *   term_signals() installs handlers for SIGINT, SIGTERM, SIGHUP (they set
 *   term_stop, which also aborts a scrape in flight) and SIGWINCH (sets
 *   term_resized); without SA_RESTART, so a wait returns early.
 *   term_begin() puts a terminal on stdin/stdout into non-canonical,
 *   no-echo mode (signals from keys kept: ^C still stops) on the alternate
 *   screen with the cursor hidden; 0, or -ENOTTY. term_end() restores all
 *   of it; safe to call twice, and registered with atexit by term_begin().
 *   term_read_key() waits up to timeout_ms for one byte of input: the byte,
 *   0 on timeout, -1 when interrupted by a signal or at end of input.
 *   term_size() gives rows and columns (24x80 when unknown).
 */
extern atomic_bool term_stop;
extern volatile sig_atomic_t term_resized;

void term_signals(void);
int term_begin(void);
void term_end(void);
int term_read_key(int timeout_ms);
void term_size(int *rows, int *cols);

#endif
