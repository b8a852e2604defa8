/* cgroup/names.h — names people recognise for a cgroup: its container's (docker's per-container
 * config, the kubelet's log layout), its pod's and namespace's (the kubelet's log layout). */
#ifndef HOSTMON_CGROUP_NAMES_H
#define HOSTMON_CGROUP_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/idmap.h"

/*
 * API:
 *   cg_names_init() says where to look: docker_root is docker's data root
 *   (its containers/<id>/config.v2.json holds the name), kubelet_logs the
 *   kubelet's log root, whose pods/<namespace>_<pod>_<uid>/ and
 *   containers/<pod>_<namespace>_<container>-<id>.log name pods and
 *   containers on every node without an API token. Absent directories name
 *   nothing. 0 or -ENOMEM.
 *
 *   cg_names_round() starts a round of lookups: the kubelet directories are
 *   rescanned if they changed (their mtime), and each docker id's config
 *   file is stat-ed again on its first lookup of the round (re-read if it
 *   changed: renames; forgotten if it is gone: removals). Called after each
 *   cgroup walk, never on a scrape.
 *
 *   cg_names_lookup() gives the cached names of a container id and a pod uid
 *   ("" when unknown); the pointers stay valid until the next round. The
 *   kubelet's container name wins over docker's (under Kubernetes docker's
 *   is a generated k8s_... string).
 *
 *   Bounded: at most CG_NAMES_MAX entries per source; beyond, ids stay
 *   unnamed. Files larger than CG_NAMES_MAX_FILE are not read.
 */

#define CG_NAMES_MAX	  65536
#define CG_NAMES_MAX_FILE (1 << 20)

struct cg_names {
	char *docker_root;
	char *kubelet_logs;
	struct idmap docker;	/* container id -> struct cg_name_entry (name) */
	struct idmap kube_ctrs; /* container id -> struct cg_name_entry (name) */
	struct idmap kube_pods; /* pod uid -> struct cg_name_entry (pod, namespace) */
	int64_t pods_mtime_ns;	/* of kubelet_logs/pods when last scanned; -1: never */
	int64_t ctrs_mtime_ns;	/* of kubelet_logs/containers when last scanned */
	uint64_t round;
};

struct cg_name_result {
	const char *container;
	const char *pod;
	const char *namespace;
};

int cg_names_init(struct cg_names *c, const char *docker_root, const char *kubelet_logs);
void cg_names_round(struct cg_names *c);
void cg_names_lookup(struct cg_names *c, const char *container_id, const char *pod_uid,
		     struct cg_name_result *out);
void cg_names_free(struct cg_names *c);

/*
 * The systemd unit a cgroup path shows: its innermost component ending in
 * ".service" or ".scope", copied to unit (len bytes at most); "" if none or
 * too long. Pure function.
 */
void cgroup_unit_from_path(const char *path, char *unit, size_t len);

#endif
