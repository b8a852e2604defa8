/* core/version.h — the version string, set by the build (git describe) or this fallback. */
#ifndef HOSTMON_CORE_VERSION_H
#define HOSTMON_CORE_VERSION_H

#ifndef HOSTMON_VERSION
#define HOSTMON_VERSION "0.1.0-dev"
#endif

/* How hostmon names itself in outgoing HTTP requests. */
#define HOSTMON_USER_AGENT "hostmon/" HOSTMON_VERSION

#endif
