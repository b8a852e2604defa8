"""What the throw-away test servers (php_env, node_env) share: finding binaries, log tails, and
stopping whatever a crashed test left running when the interpreter exits."""
import atexit
import os
import shutil


def find_binary(env_var, *candidates):
    """The first of $env_var, then candidates (names on PATH or absolute paths) that exists."""
    for c in ((os.environ.get(env_var),) if os.environ.get(env_var) else ()) + candidates:
        path = c if os.path.isabs(c) else shutil.which(c)
        if path and os.access(path, os.X_OK):
            return path
    return None


def file_tail(path, n):
    """The last n lines of a log file, for error messages."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return f"({path} unreadable)"


_live = {}  # started and not yet stopped: object -> how to stop it


def stop_at_exit(obj, stop):
    """Remembers obj as running: stop() is called at interpreter exit unless forget(obj) came first."""
    _live[obj] = stop


def forget(obj):
    _live.pop(obj, None)


@atexit.register
def _stop_all():
    for stop in list(_live.values()):
        try:
            stop()
        except Exception:
            pass


class StartStop:
    """`with Server(...) as s`: start() on entry (stopped again if starting fails), stop() on exit."""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
