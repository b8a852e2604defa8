"""Real docker for the deployment tests: a daemon (started by hand where no service manager runs
one), hostmon's images (``make image image-laravel``: cached layers after the first build),
containers removed by the test or at interpreter exit, and a Kubernetes DaemonSet manifest turned
into ``docker run`` flags, so the privileges the manifest grants are the ones a test runs with.

    with DockerHost() as host:                     # scripts/dockerd.sh; stops a dockerd it started
        build_images()                             # make image image-laravel: HOSTMON_IMAGE, LARAVEL_IMAGE
        c = Container("web", LARAVEL_IMAGE).start()
        c.ip, c.id, c.pid, c.cgroup, c.inspect(), c.logs(), c.stop() -> exit code, c.remove()
        flags, image, args, spec = daemonset_run(manifest, known_caps=daemon_capabilities(...))
"""
import json
import os
import re
import signal
import subprocess
import time

from cgroup_test import cgroup_of
from hostmon_test import ROOT
from server_env import find_binary, forget, stop_at_exit

# Debian's client, of the same release as its dockerd, where both are installed
DOCKER = find_binary("HOSTMON_DOCKER", "/usr/bin/docker", "docker")
TEST_PREFIX = f"hostmon-test-{os.getpid()}"
# the images under tags of this test run's own, so runs of other checkouts on the same daemon
# cannot retag hostmon:latest under it (the layers are shared: no extra build)
HOSTMON_IMAGE = f"hostmon:test-{os.getpid()}"
LARAVEL_IMAGE = f"laravel-example:test-{os.getpid()}"


class DockerError(RuntimeError):
    pass


def docker(*args, check=True, timeout=600, input=None):
    """Runs the docker client; returns its CompletedProcess (text). check: raise on non-zero."""
    if DOCKER is None:
        raise DockerError("no docker client (install docker.io: scripts/deps.sh test)")
    p = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise DockerError(f"docker {' '.join(args[:3])} ...: exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p


class DockerHost:
    """A Docker daemon for a with block: scripts/dockerd.sh starts one if none answers; a daemon
    started here is stopped again (SIGTERM by its pid) on leaving."""

    def __init__(self):
        self.started_pid = None

    def __enter__(self):
        env = dict(os.environ, DOCKER=DOCKER or "docker")
        p = subprocess.run([os.path.join(ROOT, "scripts", "dockerd.sh")], capture_output=True, text=True,
                           env=env, timeout=120)
        if p.returncode != 0:
            raise DockerError(f"scripts/dockerd.sh: {p.stderr.strip()}")
        m = re.search(r"dockerd: started (\d+)", p.stdout)
        if m:
            self.started_pid = int(m.group(1))
            stop_at_exit(self, self.stop)
        return self

    def stop(self):
        if self.started_pid is None:
            return
        try:
            os.kill(self.started_pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and os.path.exists(f"/proc/{self.started_pid}"):
                with open(f"/proc/{self.started_pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
                time.sleep(0.1)
        except (ProcessLookupError, FileNotFoundError):
            pass
        self.started_pid = None
        forget(self)

    def __exit__(self, *exc):
        self.stop()


def build_images():
    """make image image-laravel (the base image made first where it is missing) under this run's
    tags (HOSTMON_IMAGE, LARAVEL_IMAGE; remove_image() them afterwards); returns {target: seconds}."""
    out = {}
    for target, tag in (("image", HOSTMON_IMAGE), ("image-laravel", LARAVEL_IMAGE)):
        start = time.monotonic()
        p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", target, f"DOCKER={DOCKER}",
                            f"IMAGE={HOSTMON_IMAGE}", f"LARAVEL_IMAGE={LARAVEL_IMAGE}"],
                           capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise DockerError(f"make {target}: {(p.stdout + p.stderr)[-3000:]}")
        stop_at_exit(("image", tag), lambda tag=tag: docker("rmi", tag, check=False))
        # the usual tag too: it keeps the layers (the next build's cache) when this run's tag goes
        docker("tag", tag, tag.split(":")[0] + ":latest")
        out[target] = time.monotonic() - start
    return out


def build_test_image(tag, context, dockerfile):
    """An image only this test uses; remove_image(tag) afterwards."""
    docker("build", "-q", "-t", tag, "-f", dockerfile, context, timeout=1800)
    stop_at_exit(("image", tag), lambda: docker("rmi", tag, check=False))
    return tag


def remove_image(tag):
    """Removes the tag (and the image if no other tag holds it)."""
    docker("rmi", tag, check=False)
    forget(("image", tag))


def image_size(tag):
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())


class Container:
    """One `docker run -d`; removed (docker rm -f) by remove(), or at exit if the test crashed."""

    def __init__(self, name, image, *args, flags=()):
        self.name = f"{TEST_PREFIX}-{name}"
        self.image = image
        self.args = list(args)
        self.flags = list(flags)
        self.id = None

    def start(self):
        p = docker("run", "-d", "--name", self.name, *self.flags, self.image, *self.args)
        self.id = p.stdout.strip()
        stop_at_exit(self, self.remove)
        return self

    def inspect(self):
        return json.loads(docker("inspect", self.id).stdout)[0]

    @property
    def ip(self):
        net = self.inspect()["NetworkSettings"]
        if net.get("IPAddress"):
            return net["IPAddress"]
        # --network container:X: the address is the other container's
        mode = self.inspect()["HostConfig"]["NetworkMode"]
        if mode.startswith("container:"):
            other = json.loads(docker("inspect", mode.split(":", 1)[1]).stdout)[0]
            return other["NetworkSettings"]["IPAddress"]
        return None

    @property
    def pid(self):
        return self.inspect()["State"]["Pid"]

    @property
    def cgroup(self):
        """The container's cgroup2 path (what hostmon's cgroup label shows)."""
        return cgroup_of(self.pid)

    def logs(self):
        p = docker("logs", self.id, check=False)
        return p.stdout + p.stderr

    def running(self):
        return self.inspect()["State"]["Running"]

    def stop(self, timeout=10):
        """docker stop (SIGTERM, SIGKILL after timeout); returns the exit code."""
        docker("stop", "-t", str(timeout), self.id, timeout=timeout + 60)
        return self.inspect()["State"]["ExitCode"]

    def remove(self):
        if self.id is not None:
            docker("rm", "-f", "-v", self.id, check=False)
        forget(self)


def daemon_capabilities(names, image):
    """The subset of capability names this daemon accepts (docker 20.10 knows neither BPF nor
    PERFMON), found by creating (not starting) a container with each."""
    known = []
    for cap in names:
        p = docker("create", "--cap-drop", "ALL", "--cap-add", cap, image, check=False)
        if p.returncode == 0:
            known.append(cap)
            docker("rm", "-f", p.stdout.strip(), check=False)
    return known


def _memory_flag(quantity):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(quantity))
    if not m:
        raise DockerError(f"memory quantity {quantity!r} not understood")
    unit = {"Ki": "k", "Mi": "m", "Gi": "g", None: "b"}[m.group(2)]
    return f"{m.group(1)}{unit}"


def daemonset_run(manifest, container="hostmon", known_caps=None):
    """The `docker run` flags that run the DaemonSet's container as the kubelet would: host PID,
    the capability list (drop, then add; names the daemon does not know are left out and
    returned), read-only root filesystem, user, hostPath volumes at their mount points and
    read-only flags, env, memory limit. Returns (flags, image, args, spec) where spec has the
    container's dict ('container'), the pod spec ('pod') and the capabilities left out
    ('caps_unknown')."""
    import yaml  # Debian's python3-yaml

    with open(manifest) as f:
        doc = yaml.safe_load(f)
    pod = doc["spec"]["template"]["spec"]
    c = next(x for x in pod["containers"] if x["name"] == container)
    sec = c.get("securityContext", {})
    flags = []
    if pod.get("hostPID"):
        flags += ["--pid", "host"]
    if pod.get("hostNetwork"):
        flags += ["--network", "host"]
    if sec.get("privileged"):
        flags += ["--privileged"]
    caps = sec.get("capabilities", {})
    for cap in caps.get("drop", []):
        flags += ["--cap-drop", cap]
    unknown = []
    for cap in caps.get("add", []):
        if known_caps is not None and cap not in known_caps:
            unknown.append(cap)
            continue
        flags += ["--cap-add", cap]
    if sec.get("readOnlyRootFilesystem"):
        flags += ["--read-only"]
    if "runAsUser" in sec:
        flags += ["--user", str(sec["runAsUser"])]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "hostPath" not in v:
            raise DockerError(f"volume {m['name']}: only hostPath volumes are translated")
        flags += ["-v", f"{v['hostPath']['path']}:{m['mountPath']}{':ro' if m.get('readOnly') else ''}"]
    for e in c.get("env", []):
        flags += ["-e", f"{e['name']}={e['value']}"]
    limit = c.get("resources", {}).get("limits", {}).get("memory")
    if limit:
        flags += ["--memory", _memory_flag(limit), "--memory-swap", _memory_flag(limit)]
    return flags, c["image"], list(c.get("args", [])), {"container": c, "pod": pod, "caps_unknown": unknown}
