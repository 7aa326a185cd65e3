"""How the bench scripts run LossKit: build the CLI once (Release), then run the built DLL.

`dotnet run` would rebuild-check on every call and leave MSBuild/compiler server processes busy for a moment
afterwards, which steals a core from whatever is timed next on a 2-core machine. The scripts also time LossKit
before they load PyTorch/OpenBLAS, whose worker threads keep spinning for a while after each call.
"""
import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI_DLL = os.path.join(REPO_ROOT, "src", "LossKit.Cli", "bin", "Release", "net10.0", "LossKit.Cli.dll")
_built = False


def cli(*args):
    """The command line that runs `losskit ARGS...` from the Release build (built on first use)."""
    global _built
    if not _built:
        r = subprocess.run(["dotnet", "build", "src/LossKit.Cli", "-c", "Release", "-nologo", "-clp:ErrorsOnly",
                            "--disable-build-servers"], cwd=REPO_ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("error: building LossKit failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        _built = True
    return ["dotnet", CLI_DLL] + [str(a) for a in args]


class BenchError(Exception):
    """A benchmark step failed; the message says which command and why."""


def run_json(cmd, required=()):
    """Runs a LossKit command and returns the JSON object it prints as its last stdout line (checking `required` fields)."""
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        raise BenchError("`dotnet` not found on PATH (install the .NET SDK or use --torch-only)")
    shown = " ".join(os.path.relpath(c, REPO_ROOT) if c == CLI_DLL else c for c in cmd)
    if proc.returncode != 0:
        lines = [l.strip() for l in (proc.stderr + "\n" + proc.stdout).splitlines() if l.strip()]
        raise BenchError(f"`{shown}` failed with exit code {proc.returncode}: {lines[-1] if lines else 'no output'}")
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError(f"`{shown}` did not print JSON as its last line: {lines[-1][:200] if lines else '(empty stdout)'}")
    missing = [f for f in required if f not in result]
    if missing:
        raise BenchError(f"`{shown}` JSON lacks field(s) {', '.join(missing)}")
    return result
