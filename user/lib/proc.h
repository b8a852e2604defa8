/* lib/proc.h — what /proc says about a process: its stat fields, and its identity (pid, start,
 * exe). */
#ifndef HOSTMON_LIB_PROC_H
#define HOSTMON_LIB_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * API:
 *   proc_stat_read() reads /proc/PID/stat into buf (pid 0: /proc/self/stat,
 *   right even where /proc belongs to another PID namespace);
 *   proc_stat_field() takes field number `field` (1-based as in proc(5), 3
 *   or above) from it, parsing after the last ')' so a command name with
 *   spaces or parentheses cannot shift the fields. proc_stat_fields() takes
 *   n fields (at most PROC_STAT_MAX_FIELDS, in increasing order) in one pass
 *   into out[0..n-1]. proc_id_read() gives a process's identity: pid plus
 *   start time (field 22; together they never repeat) and the basename of its
 *   executable ("" when unreadable, " (deleted)" removed). 0 or -errno
 *   (-ESRCH when the process is gone).
 *   proc_scan() reads the identity of every process /proc lists and calls
 *   found(arg, id) for each whose executable it can see; those whose
 *   executable is hidden from us (/proc/PID/exe of a process with
 *   capabilities ours lack needs CAP_SYS_PTRACE) are counted in *denied.
 *   0 or -errno (/proc unreadable).
 *   proc_pid_max(): the highest pid + 1 the kernel hands out now
 *   (kernel.pid_max), 4M (the kernel's limit) when unreadable.
 */
struct proc_id {
	pid_t pid;
	uint64_t start_ticks;
	char exe[64];
};

int proc_stat_read(pid_t pid, char *buf, size_t len);
int proc_stat_field(const char *stat, int field, uint64_t *out);
#define PROC_STAT_MAX_FIELDS 16
int proc_stat_fields(const char *stat, const int *fields, size_t n, uint64_t *out);
int proc_id_read(pid_t pid, struct proc_id *out);
size_t proc_pid_max(void);
int proc_scan(void (*found)(void *arg, const struct proc_id *id), void *arg, unsigned *denied);

#endif
