/* fuzz_config.c — libFuzzer harness for the config file parser (user/core/config.c) and the
 * restart rules in it (user/restart/rule.c), exec actions included. */
#include "core/config.h"
#include "restart/rule.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	char *argv[] = { "hostmon", "--config", path, "run", NULL };
	char *envp[] = { NULL };
	struct config cfg;
	struct restart_rules rules;
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

	/* Owner-only, as a config file hostmon accepts must be. */
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	/* The daemon's own path: the file's settings through config_load, then its rules. */
	if (config_load(&cfg, 4, argv, envp, err, sizeof(err)) == 0) {
		memset(&rules, 0, sizeof(rules));
		if (restart_rules_parse(cfg.file, &rules, err, sizeof(err)) == 0)
			restart_rules_free(&rules);
		else if (!err[0])
			abort(); /* a refused file says why */
	} else if (!err[0]) {
		abort();
	}
	config_free(&cfg);
	/* SIGHUP's path: the rules alone, read from the file again (who may write it is not the
	 * parser's concern: its own test covers that). */
	memset(&rules, 0, sizeof(rules));
	if (restart_rules_load_file(path, false, &rules, err, sizeof(err)) == 0)
		restart_rules_free(&rules);
	close(fd);
	return 0;
}
