"""The docs say what the binary does: docs/configuration.md lists every collector --help lists
(with whether it runs by default) and every command; every daemon flag of --help is documented;
the SIGHUP behaviour is written once, in the same words in --help, configuration.md and restart.md,
and every other mention of the daemon's SIGHUP links to that description. No root needed."""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hostmon_test import BIN, ROOT, main

SIGHUP = ("SIGHUP re-reads the restart rules from the --config file and nothing else (other "
          "settings need a restart); an invalid file keeps the running rules, and a daemon that "
          "started without rules only logs it")


def flat(text):
    """Markdown or --help text as one line: no backticks, single spaces."""
    return " ".join(text.replace("`", "").split())


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def run(t):
    help_text = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    config = read("docs/configuration.md")

    section = help_text.split("Collectors (--collectors):")[1].split("\n\n")[0]
    collectors = {m.group(1): "runs when configured" not in m.group(2)
                  for m in re.finditer(r"^  (\w+)\s+(.*)$", section, re.M)}
    table = config.split("## Collectors")[1].split("\n\n")[2]
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `(\w+)` \|.*\| ([^|]+) \|$", table, re.M)}
    t.check(set(collectors) == set(rows) and len(rows) >= 3,
            f"configuration.md lists every collector: {sorted(rows)} vs --help {sorted(collectors)}")
    for name, default in collectors.items():
        t.check((rows.get(name) == "yes") == default,
                f"{name}: 'runs by default' agrees with --help ({rows.get(name)!r})")

    commands = re.findall(r"^  (\w+) ", help_text.split("Commands")[1], re.M)
    commands_doc = flat(config.split("## Commands")[1].split("## ")[0])
    for c in commands:
        t.check(f"hostmon {c}" in commands_doc, f"configuration.md's Commands names hostmon {c}")

    documented = config + read("docs/rabbitmq.md")
    flags = set(re.findall(r"^  (--[a-z0-9-]+)", help_text, re.M))
    missing = sorted(f for f in flags if f"`{f}" not in documented)
    t.check(len(flags) > 30 and not missing, f"every daemon flag is documented: missing {missing}")

    t.check(SIGHUP in flat(help_text), "--help describes SIGHUP in the one wording")
    docs = {p: read(p) for p in ["README.md", *sorted(os.path.relpath(x, ROOT) for x in glob.glob(
        os.path.join(ROOT, "docs", "*.md")))]}
    where = [p for p, text in docs.items() if SIGHUP in flat(text)]
    t.check(where == ["docs/configuration.md", "docs/restart.md"],
            f"the description is in configuration.md (Signals) and restart.md (Reloading): {where}")
    t.check(flat(docs["docs/configuration.md"]).count(SIGHUP) == 1, "once in configuration.md")
    for path, text in docs.items():
        if path == "docs/incident.md":
            continue  # the commands' own signals (top quits on SIGHUP), not the daemon's
        for para in re.split(r"\n\s*\n", text):
            if "SIGHUP" not in para or SIGHUP in flat(para):
                continue
            t.check("configuration.md#signals" in para or "(#signals)" in para or "#reloading" in para,
                    f"{path}: a mention of SIGHUP links to the description: {flat(para)[:120]!r}")


if __name__ == "__main__":
    main(run, "core/test_docs")
