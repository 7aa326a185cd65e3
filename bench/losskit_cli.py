"""How the bench scripts run LossKit: build the CLI once (Release), then run the built DLL.

`dotnet run` would rebuild-check on every call and leave MSBuild/compiler server processes busy for a moment
afterwards, which steals a core from whatever is timed next on a 2-core machine. The scripts also time LossKit
before they load PyTorch/OpenBLAS, whose worker threads keep spinning for a while after each call.
"""
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
