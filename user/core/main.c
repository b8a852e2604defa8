/* core/main.c — the hostmon command line: a command for people (top, latency), or parse the
 * settings and run the daemon. */
#include <stdio.h>

#include "cli/cli.h"

#include "core/collector.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/version.h"
#include "lib/filetrust.h"
#include "restart/rule.h"

extern char **environ;

int main(int argc, char **argv)
{
	struct config cfg;
	char err[1024] = "";
	int rc;

	/* the commands for people have flags of their own; everything else is the daemon's */
	if (argc > 1 && cli_command(argv[1]))
		return cli_run(argc, argv);
	rc = config_load(&cfg, argc, argv, environ, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hostmon: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (cfg.action == OPTIONS_HELP) {
		config_print_help("hostmon");
		printf("\nCollectors (--collectors):\n");
		for (size_t i = 0; i < collector_table_len; i++)
			printf("  %-12s %s%s\n", collector_table[i]->name,
			       collector_table[i]->description,
			       collector_table[i]->enabled_by_default ? " (runs when configured)"
								      : "");
		cli_print_commands(stdout);
		config_free(&cfg);
		return 0;
	}
	if (cfg.action == OPTIONS_VERSION) {
		printf("hostmon %s\n", HOSTMON_VERSION);
		config_free(&cfg);
		return 0;
	}
	struct collector_set collectors;
	if (collector_set_select(&collectors, collector_table, collector_table_len, &cfg, err,
				 sizeof(err))) {
		fprintf(stderr, "hostmon: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	struct restart_rules rules = { 0 };
	/* root acts on the file: refuse one that someone else could rewrite */
	bool check_files = !cfg.core.insecure_allow_writable;
	if ((check_files && cfg.core.config_file &&
	     file_trusted(cfg.core.config_file, 0, "config file", err, sizeof(err))) ||
	    restart_rules_parse(cfg.file, &rules, err, sizeof(err)) ||
	    (check_files && restart_rules_check_programs(&rules, err, sizeof(err)))) {
		fprintf(stderr, "hostmon: %s\n", err);
		restart_rules_free(&rules);
		collector_set_destroy(&collectors);
		config_free(&cfg);
		return 2;
	}
	log_setup(cfg.core.log_level, cfg.core.log_format);
	rc = daemon_run(&cfg, &collectors, &rules);
	restart_rules_free(&rules);
	config_free(&cfg);
	return rc;
}
