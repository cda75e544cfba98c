"""A host the guest cannot reach (issue #12): rows of
reliability.py, which runs them; they use its helpers through __main__."""
from __main__ import *  # noqa: F401,F403  (check, Project, Watch, run_caller, ...)

import os
import re
import shlex
import signal
import subprocess
import termios
import threading
import time
from pathlib import Path

ROWS = []



def attempt(route, name, body):
    """Guest commands: mount hostfs `route` on /h and, only if that worked, run body."""
    return (
        f"mkdir -p /h; if mount -t hostfs none /h -o {route} 2>/dev/null; then echo MOUNTED {name}\n"
        f"{body}\numount /h; fi\n"
    )


def script_run(p, name, commands, *args, env=None, preexec_fn=None):
    """`uml-helper run` with `commands` on stdin (script mode); its output."""
    work = p.work / name
    command = p.helper_command(work, *args, sub="run")
    proc = subprocess.run(
        command,
        input=commands,
        capture_output=True,
        text=True,
        timeout=180,
        start_new_session=True,
        env=env,
        preexec_fn=preexec_fn,
    )
    print(f"$ uml-helper run ({name}) {shlex.join(args)} -> exit {proc.returncode}")
    print((proc.stdout + proc.stderr)[-2500:], flush=True)
    return proc


def routes(target, hostfs=None):
    """hostfs options that name `target`: absolute, and relative from hostfs's root
    (`..` resolves on the host) when there is one."""
    found = [str(target)]
    if hostfs:
        found.append(os.path.relpath(target, hostfs))
    return found


def probe_writes(target, hostfs, name, files):
    """Guest commands: mount `target` over hostfs by every route and try to write each
    of `files` there (MB of data each); prints WROTE <name> <file> on success."""
    commands = ""
    for i, route in enumerate(routes(target, hostfs)):
        body = "\n".join(
            f"dd if=/dev/zero of=/h/{file} bs=1M count={megabytes} 2>/dev/null && echo WROTE {name}-{i} {file}"
            for file, megabytes in files
        )
        commands += attempt(route, f"{name}-{i}", body)
    return commands


def persist_cow_confined(p):
    """--persist FILE grants exactly that file: the guest cannot mount its directory
    over hostfs (absolute or `..` routes) and rewrite a file beside it, with or
    without --hostfs; the COW file still carries data from one boot to the next."""
    build = p.work / "persist-build"
    build.mkdir(parents=True, exist_ok=True)
    sentinel = build / "build.ninja"
    sentinel.write_text("rule cc\n")
    before = sentinel.read_bytes()
    cow = build / "run.cow"
    cow.unlink(missing_ok=True)
    shared = p.hostfs / "shared"
    attack = "".join(
        attempt(
            route,
            f"persist-{i}",
            "(echo pwned > /h/build.ninja) 2>/dev/null && echo WROTE build.ninja\n"
            "(echo pwned > /h/new-file) 2>/dev/null && echo WROTE new-file",
        )
        for i, route in enumerate(routes(build, shared))
    )
    first = script_run(p, "persist-1", f"echo kept > /persisted; sync\n{attack}true\n", "--persist", str(cow))
    check(first.returncode == 0, f"first boot: exit 0, got {first.returncode}")
    with_hostfs = script_run(
        p, "persist-2", f"{attack}cat /persisted\n", "--persist", str(cow), "--hostfs", str(shared)
    )
    check(with_hostfs.returncode == 0, f"second boot (--hostfs): exit 0, got {with_hostfs.returncode}")
    check("kept" in with_hostfs.stdout, "the COW file carried /persisted into the second boot")
    for proc in (first, with_hostfs):
        check("WROTE" not in proc.stdout, "the guest wrote nothing beside the COW file")
    check(sentinel.read_bytes() == before, "build.ninja beside the COW file is unchanged")
    check(not (build / "new-file").exists(), "no file was made beside the COW file")
    mode = cow.stat().st_mode & 0o777
    check(mode & 0o077 == 0, f"the COW file is private (mode {mode:o})")


ROWS.append(persist_cow_confined)


def hostfs_no_dev(p):
    """--hostfs DIR: no route (`..` from DIR, which resolves on the host) reaches
    /dev: a host file in /dev/shm can be neither read nor rewritten, nothing can be
    made in /dev/shm, /dev/pts cannot be listed."""
    shared = p.hostfs / "shared"
    secret = Path(f"/dev/shm/uml-reliability-secret-{os.getpid()}")
    secret.write_text("secret\n")
    commands = "".join(
        attempt(
            route,
            f"shm-{i}",
            f"cat /h/{secret.name} 2>/dev/null && echo READ secret\n"
            f"(echo pwned > /h/{secret.name}) 2>/dev/null && echo WROTE secret\n"
            f"(echo x > /h/made-by-guest-{os.getpid()}) 2>/dev/null && echo WROTE new",
        )
        for i, route in enumerate(routes("/dev/shm", shared))
    )
    commands += "".join(
        attempt(route, f"dev-{i}", "ls /h/pts/ 2>/dev/null | grep -q . && echo READ pts")
        for i, route in enumerate(routes("/dev", shared))
    )
    commands += "true\n"
    try:
        proc = script_run(p, "no-dev", commands, "--hostfs", str(shared))
        check(proc.returncode == 0, f"exit 0, got {proc.returncode}")
        check("MOUNTED" in proc.stdout, "hostfs mounts by path still succeed (what then fails is the access)")
        check("READ" not in proc.stdout, "the guest read nothing of /dev/shm or /dev/pts")
        check("WROTE" not in proc.stdout, "the guest wrote nothing into /dev/shm")
        check(secret.read_text() == "secret\n", "the host's /dev/shm file is unchanged")
        check(not Path(f"/dev/shm/made-by-guest-{os.getpid()}").exists(), "no file was made in /dev/shm")
    finally:
        secret.unlink(missing_ok=True)
        Path(f"/dev/shm/made-by-guest-{os.getpid()}").unlink(missing_ok=True)


ROWS.append(hostfs_no_dev)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def guest_cannot_fill_host(p):
    """The guest tries to write 200 MB into the boot's work dir and into its RAM
    directory, by every hostfs route, without and with --hostfs: every mount or write
    fails, the files do not appear, and the host's free space stays put."""
    tmp = p.work / "fill-tmp"  # TMPDIR: the RAM directory
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp))
    shared = p.hostfs / "shared"
    for name, args in (("no-hostfs", []), ("hostfs", ["--hostfs", str(shared)])):
        work = p.work / f"fill-{name}"
        hostfs = shared if args else None
        # The guest learns both paths as an attacker would: /proc/cmdline names the
        # COW file in the work dir; the RAM dir is the private one below TMPDIR.
        commands = probe_writes(work, hostfs, "work", [("fill", 200)])
        commands += probe_writes(tmp, hostfs, "ram", [("fill", 200)]) + "true\n"
        before = (free_bytes(work.parent), free_bytes(tmp))
        proc = script_run(p, f"fill-{name}", commands, *args, env=env)
        after = (free_bytes(work.parent), free_bytes(tmp))
        check(proc.returncode == 0, f"{name}: exit 0, got {proc.returncode}")
        if not args:
            check("MOUNTED" not in proc.stdout, f"{name}: no hostfs mount succeeds at all (hostfs=/dev/null)")
        check("WROTE" not in proc.stdout, f"{name}: no 200 MB file was written")
        check(not (work / "fill").exists() and not (tmp / "fill").exists(), f"{name}: the files do not exist")
        lost = max(b - a for b, a in zip(before, after)) >> 20
        check(lost < 50, f"{name}: the host's free space shrank by {lost} MB at most (< 50)")
        check(not list(tmp.iterdir()), f"{name}: nothing left in the RAM directory")


ROWS.append(guest_cannot_fill_host)


def fork_bomb(p):
    """A fork bomb in the guest (each guest process is a host process of UML's
    session) ends with the helper's own message and exit 1, nothing left; the host
    never saw more than the cap (500) plus a margin of the session's processes."""
    proc = p.start("fork-bomb", "--timeout", "120", "--command", "b() { b & b & }; b; sleep 100")
    peak, done = [0], threading.Event()

    def count():
        while not done.is_set():
            sessions = set(proc.watch.sessions)
            if sessions:
                peak[0] = max(peak[0], sum(1 for _, sid, _ in processes() if sid in sessions))
            time.sleep(0.02)

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    start = time.monotonic()
    p.finish(proc)
    took = time.monotonic() - start
    done.set()
    counter.join()
    print(proc.text[-800:])
    check(proc.returncode == 1, f"exit 1 (the guest's doing), got {proc.returncode}")
    check("the guest made more than 500 host processes" in proc.text, "the helper says why it stopped UML")
    check(took < 60, f"stopped after {took:.1f} s, long before the timeout")
    check(peak[0] <= 500 + 300, f"at most the cap plus a margin of host processes seen ({peak[0]})")
    expect_nothing_left(proc.watch, [proc.work])


ROWS.append(fork_bomb)


def umask_000_private(p):
    """Under umask 000, what UML and the helper make is still private while UML runs:
    the umid directory, the mconsole socket and the COW file; the fallback uml_dir
    (a long work dir) is a fresh private directory, not a shared one."""
    long_work = p.work / ("w" * 100)
    for name, work in (("short", p.work / "umask"), ("long", long_work)):
        old = os.umask(0)
        try:
            proc = p.start(f"umask-{name}", "--timeout", "60", "--command", "echo RUNNING; sleep 4", work=work)
        finally:
            os.umask(old)
        check(wait_for(lambda: "RUNNING" in log_of(proc), 60), f"{name}: the guest runs")
        cmdline = next((c for _, _, c in processes() if "umid=uh" in c and str(work) in c), "")
        uml_dir = re.search(r"uml_dir=(\S+)", cmdline)
        umid = re.search(r"umid=(\S+)", cmdline)
        check(bool(uml_dir and umid), f"{name}: UML's command line found")
        if uml_dir and umid:
            base, sock = Path(uml_dir[1]), Path(uml_dir[1]) / umid[1] / "mconsole"
            for path in (base, base / umid[1], sock):
                mode = path.lstat().st_mode & 0o777 if path.exists() else None
                check(mode is not None and mode & 0o077 == 0, f"{name}: {path} is private (mode {mode and oct(mode)})")
            if name == "long":
                check(re.fullmatch(r"/tmp/uml-\w{6}", str(base)), f"long: a fresh fallback uml_dir ({base})")
        cows = list(work.glob("*.cow"))
        check(cows and all(c.stat().st_mode & 0o077 == 0 for c in cows), f"{name}: the COW file is private")
        p.finish(proc)
        check(proc.returncode == 0, f"{name}: exit 0, got {proc.returncode}")
        if uml_dir and name == "long":
            check(not Path(uml_dir[1]).exists(), "long: the fallback uml_dir is removed afterwards")
        expect_nothing_left(proc.watch, [proc.work], f"{name}: ")


ROWS.append(umask_000_private)


def kill9_run_terminal(p):
    """SIGKILL to an interactive `run` while UML holds the terminal raw: the guardian
    puts the terminal modes back and nothing is left."""
    term = Terminal()
    proc = p.start("kill9-run", "--module", "hang_on_load", sub="run", terminal=term)
    check(wait_for(lambda: "hang_on_load: spinning" in term.text(), 60), "the guest hangs")
    check(termios.tcgetattr(term.slave) != term.modes, "UML had put the terminal into raw mode")
    proc.kill()
    p.finish(proc, 30)
    check(proc.returncode == -signal.SIGKILL, "the helper died of SIGKILL")
    restored = wait_for(lambda: termios.tcgetattr(term.slave) == term.modes, 10)
    check(restored, "the terminal modes are restored exactly, by the guardian")
    expect_nothing_left(proc.watch, [proc.work])
    term.close()


ROWS.append(kill9_run_terminal)
