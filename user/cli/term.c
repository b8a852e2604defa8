/* cli/term.c — raw keys and the alternate screen with termios and ANSI sequences. */
#include "cli/term.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

atomic_bool term_stop;

static struct termios saved;
static volatile sig_atomic_t active;

static void on_stop(int sig)
{
	(void)sig;
	atomic_store(&term_stop, true);
}

void term_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void put(const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(STDOUT_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void term_end(void)
{
	if (!active)
		return;
	active = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	put("\033[0m\033[?25h\033[?1049l"); /* colours off, cursor back, main screen back */
}

int term_begin(void)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return -ENOTTY;
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
		return -ENOTTY;
	active = 1;
	atexit(term_end);
	put("\033[?1049h\033[?25l\033[H\033[2J");
	return 0;
}

void term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}
