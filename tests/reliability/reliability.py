#!/usr/bin/env python3
"""The fault matrix of issue #6 against the real UML kernel, one row per CTest
test (reliability.<row>); each row asserts what was lost or left behind.

Usage: reliability.py BUILD_DIR WORK_DIR ROW
  BUILD_DIR  tests/reliability/project, configured and built (setup.cmake)
  WORK_DIR   scratch space of this driver
Exit: 0 passed, 1 failed, 77 skipped (a prerequisite is missing; said why).

Processes are found the way the helper runs them: UML is started in a session
of its own, so a boot's processes are the members of the sessions whose
command line carries its umid (or its COW path); "nothing left" means none of
those is alive within a few seconds, no COW file and no <uml_dir>/<umid>.
"""
import fcntl
import glob
import hashlib
import json
import os
import pty
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

SKIP = 77
FALLBACK_UML_DIRS = "/tmp/uml-??????"  # the helper's private per-boot uml_dir, for long work dirs
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def skip(why):
    print(f"SKIPPED: {why}", flush=True)
    sys.exit(SKIP)


def wait_for(predicate, seconds, step=0.05):
    """Polls until predicate() is true or the time is up; returns its last value."""
    end = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= end:
            return value
        time.sleep(step)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_state(path):
    """What a boot must not change about an image: contents, size and mtime
    (a COW file is tied to its base's size and mtime)."""
    st = os.stat(path)
    return (sha256(path), st.st_size, st.st_mtime_ns)


# --- processes -------------------------------------------------------------------------


def processes():
    """(pid, session, command line) of every living process."""
    result = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state ppid pgrp session ...
        if fields[0] not in "ZX":
            result.append((int(name), int(fields[3]), cmdline))
    return result


class Watch(threading.Thread):
    """Records, while it runs, the sessions and umids of the UML processes whose
    command line contains `needle` (e.g. "umid=uh<helper pid>-")."""

    def __init__(self, needle):
        super().__init__(daemon=True)
        self.needle = needle
        self.sessions, self.umids, self.seen = set(), set(), threading.Event()
        self.done = threading.Event()
        self.start()

    def run(self):
        while not self.done.is_set():
            self.scan()
            time.sleep(0.05)

    def scan(self):
        for _, sid, cmdline in processes():
            if self.needle in cmdline:
                self.sessions.add(sid)
                self.umids.update(re.findall(r"umid=(\S+)", cmdline))
                self.seen.set()

    def left(self):
        """The living processes of the recorded sessions or with the needle."""
        self.done.set()
        self.scan()
        return [(pid, cmd[:100]) for pid, sid, cmd in processes() if sid in self.sessions or self.needle in cmd]


def leftovers(watch, work_dirs, wait=5):
    """What a boot left: living processes of its sessions (after up to `wait`
    seconds), its COW files and umid directories."""
    left = []
    alive = wait_for(lambda: not watch.left(), wait) or watch.left()
    if alive is not True:
        left.append(f"processes {alive}")
    for umid in watch.umids:
        for work in work_dirs:
            left += glob.glob(f"{work}/{umid}-*.cow")
            # os.path.exists: a fallback dir of another user (uid 0 inside an
            # unshare -U is not root's) is not ours and cannot be stat'ed.
            left += [str(d) for d in [Path(work) / "u" / umid] if os.path.exists(d)]
            left += glob.glob(f"{FALLBACK_UML_DIRS}/{umid}")
    return left


def expect_nothing_left(watch, work_dirs, what=""):
    """No process of the boot's sessions within 5 s, no COW file, no umid dir."""
    check(bool(watch.umids), f"{what}UML was seen running (umid {sorted(watch.umids)})")
    left = leftovers(watch, work_dirs)
    check(not left, f"{what}no process, COW file or umid directory left ({left})")


# --- boots -----------------------------------------------------------------------------


class Terminal:
    """A pty whose slave is a child's controlling terminal; the output is collected."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        self.modes = termios.tcgetattr(self.slave)
        self.output = bytearray()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.output.extend(data)

    def popen(self, command, **kwargs):
        def take_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        return subprocess.Popen(
            command,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=take_terminal,
            **kwargs,
        )

    def text(self):
        # The reader thread may still hold output the child wrote before it
        # exited: wait until nothing new arrives for a moment (at most 5 s).
        deadline = time.monotonic() + 5
        seen = -1
        while len(self.output) != seen and time.monotonic() < deadline:
            seen = len(self.output)
            time.sleep(0.3)
        return self.output.decode(errors="replace")

    def close(self):
        os.close(self.master)
        os.close(self.slave)


class Project:
    def __init__(self, build, work):
        self.build, self.work = Path(build).absolute(), Path(work).absolute()
        info = json.loads((self.build / "uml-info.json").read_text())
        self.helper, self.kernel = info["helper"], info["kernel"]
        self.image, self.base_image = info["image"], info["base_image"]
        self.hostfs = Path(info["hostfs"])
        self.hostile_model, self.regmap = info["hostile_model"], info["regmap"]
        self.package_dir, self.cache_dir = info["package_dir"], info["cache_dir"]

    def helper_command(self, work, *args, sub="test", kernel=None, image=None):
        command = [self.helper, sub, "--kernel", kernel or self.kernel, "--rootfs", image or self.image]
        return command + ["--work-dir", str(work), *args]

    def start(self, name, *args, sub="test", work=None, terminal=None, env=None, **kw):
        """Starts the helper in a session of its own (so that, should its own
        protection fail, a panicking UML cannot reach this driver); its work
        dir is WORK_DIR/<name> unless given, its output WORK_DIR/<name>.out."""
        work = work or self.work / name
        command = self.helper_command(work, *args, sub=sub, **kw)
        if terminal:
            proc = terminal.popen(command, env=env)
        else:
            self.work.mkdir(parents=True, exist_ok=True)
            out = open(self.work / f"{name}.out", "w+")
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
            proc.out = out
        proc.work, proc.watch = work, Watch(f"umid=uh{proc.pid}-")
        return proc

    def finish(self, proc, timeout=120):
        proc.wait(timeout)
        proc.text = ""
        if hasattr(proc, "out"):
            proc.out.seek(0)
            proc.text = proc.out.read()
            proc.out.close()
        return proc

    def boot(self, name, *args, **kw):
        """One helper run to its end; .returncode, .text (its output), .watch."""
        proc = self.finish(self.start(name, *args, **kw))
        print(f"$ uml-helper {kw.get('sub', 'test')} ({name}) {shlex.join(args)} -> exit {proc.returncode}", flush=True)
        return proc

    def ctest_command(self, *args):
        return ["ctest", "--test-dir", str(self.build), "--output-on-failure", *args]


def run_caller(command, **kwargs):
    """Runs a build tool or ctest as the caller of a boot, in a session of its
    own so that this driver watches it from outside."""
    print("$ " + shlex.join(command), flush=True)
    result = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, start_new_session=True, timeout=600, **kwargs
    )
    result.stdout += result.stderr
    print(result.stdout[-3000:], flush=True)
    return result


def log_of(proc):
    path = proc.work / "console.log"
    return path.read_text(errors="replace") if path.exists() else ""


# --- the rows ------------------------------------------------------------------------------


def hang_timeout(p):
    """A hung guest ends at the timeout (124) with nothing left, on a terminal
    whose modes stay as they were; an interactive boot that hangs is stopped by
    SIGTERM and the terminal modes UML changed are restored."""
    for name, args in (("command", ["--command", "sleep 1000"]), ("kernel", ["--module", "hang_on_load"])):
        term = Terminal()
        start = time.monotonic()
        proc = p.finish(p.start(f"hang-{name}", "--timeout", "3", "--grace", "2", *args, terminal=term))
        took = time.monotonic() - start
        print(term.text()[-1500:])
        if name == "kernel":
            check("hang_on_load: spinning for ever" in log_of(proc), "the kernel hung in hang_on_load's init")
        check(proc.returncode == 124, f"{name} hang: exit 124 (timeout), got {proc.returncode}")
        check(took < 3 + 2 + 3, f"{name} hang: ended {took:.1f} s after the start (timeout 3 s, grace 2 s)")
        expect_nothing_left(proc.watch, [proc.work], f"{name} hang: ")
        check(termios.tcgetattr(term.slave) == term.modes, f"{name} hang: the terminal modes are unchanged")
        term.close()

    # SIGTERM as an IDE's stop button or timeout(1) sends it; twice, the second
    # kills UML outright, which then cannot restore the terminal itself.
    for name, signals in (("run, SIGTERM", [signal.SIGTERM]), ("run, SIGTERM twice", [signal.SIGTERM] * 2)):
        term = Terminal()
        proc = p.start("hang-run", "--module", "hang_on_load", sub="run", terminal=term)
        check(wait_for(lambda: "hang_on_load: spinning" in term.text(), 60), f"{name}: the guest hangs")
        check(termios.tcgetattr(term.slave) != term.modes, f"{name}: UML had put the terminal into raw mode")
        for sig in signals:
            proc.send_signal(sig)
        p.finish(proc, 30)
        check(proc.returncode == 143, f"{name}: exit 143, got {proc.returncode}")
        check(termios.tcgetattr(term.slave) == term.modes, f"{name}: the terminal modes are restored exactly")
        expect_nothing_left(proc.watch, [proc.work], f"{name}: ")
        term.close()


def panic_keeps_caller(p):
    """UML's panic path kill(0, SIGTERM)s its process group: ctest, ninja (a
    console-pool target, which shares ninja's process group) and make must
    survive it and report the failure themselves."""
    work = p.build / "_uml/boot/panics"
    watch = Watch(f"ubd0={work}/")
    r = run_caller(p.ctest_command("-R", "^panics$"))
    check(r.returncode == 8, f"ctest: exit 8 (a test failed), got {r.returncode}")
    check("FAILED (kernel panic, exit 4)" in r.stdout, "ctest: the test failed as a kernel panic")
    check("Errors while running CTest" in r.stdout, "ctest: printed its own summary after the panic")
    expect_nothing_left(watch, [work], "ctest: ")

    work = p.build / "_uml/boot/panic_run"
    watch = Watch(f"ubd0={work}/")
    term = Terminal()
    build = term.popen(["cmake", "--build", str(p.build), "--target", "panic_run"])
    build.wait(300)
    print(term.text()[-2000:])
    check(build.returncode == 1, f"ninja: exit 1 (a step failed), got {build.returncode}")
    check("UML aborted (kernel panic)" in term.text(), "ninja: the boot ended in the panic")
    check("ninja: build stopped: subcommand failed" in term.text(), "ninja: printed its own message after the panic")
    expect_nothing_left(watch, [work], "ninja: ")
    term.close()

    work = p.work / "make"
    watch = Watch(f"ubd0={work}/")
    makefile = p.work / "panic.mk"
    boot = shlex.join(p.helper_command(work, "--module", "panic_on_load"))
    makefile.write_text(f".PHONY: all panic after\nall: panic after\npanic:\n\t{boot}\nafter:\n\t@echo still here\n")
    r = run_caller(["make", "-k", "-f", str(makefile)])
    check(r.returncode == 2, f"make: exit 2 (a recipe failed), got {r.returncode}")
    check(re.search(r"\[.*panic\] Error 4", r.stdout), "make: reports the recipe's exit 4 (kernel panic)")
    check("still here" in r.stdout, "make: went on to the next target after the panic (-k)")
    expect_nothing_left(watch, [work], "make: ")


def oops_bug_warn(p):
    """Each kind of kernel crash in a module gets its own exit code and names
    its cause, as does a module the unload check cannot remove; nothing is left
    after any of them."""
    oops, panic = r"FAILED \(kernel oops, exit 3\)", r"FAILED \(kernel panic, exit 4\)"
    cases = [
        ("bug", ["--module", "bug_on_load"], 3, [oops, r"bug_on_load\.c:9"]),
        # What is an oops elsewhere is a panic on UML; the trace names the function.
        ("fault", ["--module", "fault_on_load"], 4, [panic, r"Kernel mode fault at addr 0x0", "fault_on_load_init"]),
        ("panic", ["--module", "panic_on_load"], 4, [panic, r"panic_on_load: panic on purpose"]),
        ("warn", ["--module", "warn_on_load"], 0, [r": passed"]),
        ("warn-fails", ["--module", "warn_on_load", "--fail-on-warn"], 3, [oops, r"WARNING: .*warn_on_load"]),
        # The unload check: a module the kernel will not unload fails the test, with the likely cause.
        ("no-exit", ["--module", "no_exit"], 8, [r"FAILED \(unload failed, exit 8\)", r"no_exit .*no module_exit\(\)"]),
        ("no-exit-unchecked", ["--module", "no_exit", "--no-unload-check"], 0, [r": passed"]),
    ]
    results = {}
    for name, args, code, patterns in cases:
        r = results[name] = p.boot(name, *args)
        print(r.text[-1500:])
        check(r.returncode == code, f"{name}: exit {code}, got {r.returncode}")
        for pattern in patterns:
            check(re.search(pattern, r.text), f"{name}: the report matches '{pattern}'")
        if code:
            check(f"console log: {r.work}/console.log" in r.text, f"{name}: the report names the console log")
        expect_nothing_left(r.watch, [r.work], f"{name}: ")
    check("warn_on_load: warning on purpose" in log_of(results["warn"]), "warn: the module did warn")


def kill9_during_boot(p):
    """SIGKILL to the helper at three points of a boot: PR_SET_PDEATHSIG and the
    helper's guardian take UML down and remove its COW file and umid dir; the next
    boot in the same work dir still works."""
    before = image_state(p.image)
    for when in ("started", "VFS: Mounted root", "UML-BOOTED"):
        name = "kill9-" + when.split()[-1].lower()
        proc = p.start(name, "--timeout", "120", "--command", "sleep 1000")
        check(proc.watch.seen.wait(30), f"{name}: UML started")
        if when != "started":
            check(wait_for(lambda: when in log_of(proc), 30), f"{name}: the console shows '{when}'")
        proc.kill()
        p.finish(proc)
        check(proc.returncode == -signal.SIGKILL, f"{name}: the helper died of SIGKILL")
        # "Shortly after": 10 s leaves room for a loaded CI machine. UML's stubs have
        # no parent-death signal: the helper's guardian must kill them (issue #6).
        alive = [] if wait_for(lambda: not proc.watch.left(), 10) else proc.watch.left()
        check(not alive, f"{name}: no UML process alive within 10 s of the helper's SIGKILL ({alive})")
        for pid, _ in alive:  # not left running into the next boot's checks
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # The guardian also removes what the helper would have: COW file, umid dir.
        gone = wait_for(lambda: not leftovers(proc.watch, [proc.work], wait=0), 10)
        left = [] if gone else leftovers(proc.watch, [proc.work], wait=0)
        check(not left, f"{name}: no COW file or umid directory left within 10 s ({left})")
        again = p.boot(name, "--command", "true")
        check(again.returncode == 0, f"{name}: the next boot in the same work dir passes")
        expect_nothing_left(again.watch, [again.work], f"{name}, next boot: ")
    check(image_state(p.image) == before, "the image is unchanged (contents, size, mtime)")


def sigint_clean_stop(p):
    """Ctrl-C while ctest runs a boot (ctest a shell's foreground job on a
    terminal) and SIGINT to the helper alone: the boot stops, exit 130,
    nothing left, the image unchanged."""
    before = image_state(p.image)
    log, work = p.build / "_uml/tests/hangs.log", p.build / "_uml/boot/hangs"
    log.unlink(missing_ok=True)
    watch = Watch(f"ubd0={work}/")
    term = Terminal()
    ctest = shlex.join(p.ctest_command("-R", "^hangs$"))
    shell = term.popen(["sh", "-c", f'trap "echo shell: SIGINT" INT; {ctest}; echo "CTEST-EXIT=$?"; exec sleep 60'])
    log_text = lambda: log.read_text(errors="replace") if log.exists() else ""
    check(wait_for(lambda: "HANGING" in log_text(), 60), "ctest: the guest runs its command")
    os.write(term.master, b"\x03")  # the terminal's Ctrl-C: SIGINT to the foreground process group
    check(wait_for(lambda: "CTEST-EXIT=" in term.text(), 15), "ctest: ended after Ctrl-C")
    stopped = wait_for(lambda: "interrupted (exit 130)" in log_text(), 15)
    check(stopped, "ctest: the helper wrote its verdict, exit 130, in the log")
    print(term.text()[-1500:])
    expect_nothing_left(watch, [work], "ctest: ")
    os.killpg(shell.pid, signal.SIGKILL)
    shell.wait()
    term.close()

    proc = p.start("sigint", "--timeout", "120", "--command", "echo HANGING; sleep 1000")
    check(wait_for(lambda: "HANGING" in log_of(proc), 60), "helper: the guest runs its command")
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    p.finish(proc, 30)
    took = time.monotonic() - start
    print(proc.text[-1000:])
    check(proc.returncode == 130, f"helper: exit 130, got {proc.returncode}")
    check("interrupted by SIGINT; UML was stopped" in proc.text, "helper: says it was interrupted")
    check("killed with SIGKILL" not in proc.text, "helper: UML stopped on SIGTERM, within the grace period")
    check(took < 5, f"helper: ended {took:.1f} s after SIGINT")
    expect_nothing_left(proc.watch, [proc.work], "helper: ")
    check(image_state(p.image) == before, "the image is unchanged (contents, size, mtime)")


def base_image_100_boots(p):
    """100 boots on one image, 20 of them crashing (panic, BUG, NULL
    dereference, UML SIGKILLed while the guest writes): the images stay
    bit-identical, and every boot starts from a clean copy."""
    images = {path: image_state(path) for path in (p.image, p.base_image)}
    crashes = [(["--module", "panic_on_load"], 4), (["--module", "bug_on_load"], 3), (["--module", "fault_on_load"], 4)]
    problems = []
    for i in range(100):
        if i % 5 != 4:
            # Each boot writes and finds only its own file: the COW is fresh.
            command = f"echo {i} > /boot-{i} && sync && test \"$(ls / | grep -c '^boot-')\" = 1"
            r, expected = p.boot("boots", "--command", command), [0]
        elif i % 20 != 19:
            args, code = crashes[(i // 5) % 4]
            r, expected = p.boot("boots", *args), [code]
        else:
            r = p.start("boots", "--command", "while :; do echo x >> /fill; sync; done")
            r.watch.seen.wait(30)
            wait_for(lambda: "UML-BOOTED" in log_of(r), 30)
            time.sleep(0.2)
            for sid in r.watch.sessions:  # UML's main process leads its session
                os.kill(sid, signal.SIGKILL)
            p.finish(r)
            print(f"$ UML SIGKILLed while writing -> {r.returncode}")
            expected = [6]  # no result marker: boot failed
        if r.returncode not in expected:
            problems.append(f"boot {i}: exit {r.returncode}, expected {expected}")
        problems += leftovers(r.watch, [r.work])
    check(not problems, f"100 boots, each with its expected exit and nothing left ({problems})")
    for path, state in images.items():
        check(image_state(path) == state, f"{Path(path).name} is bit-identical (sha256, size, mtime) after 100 boots")


def parallel_two_runs(p):
    """Two boots of one image at the same time, in separate work dirs and in
    one: each sees only its own writes, both pass, the image is unchanged."""
    before = image_state(p.image)
    for layout in ("own", "shared"):
        procs = []
        for me, other in (("a", "b"), ("b", "a")):
            work = p.work / (f"{layout}-{me}" if layout == "own" else layout)
            command = f"echo {me} > /{me} && sync && sleep 3 && test ! -e /{other} && grep -qx {me} /{me}"
            procs.append(p.start(f"{layout}-{me}", "--command", command, work=work))
        running = lambda w: any(w.needle in cmdline for _, _, cmdline in processes())
        both = wait_for(lambda: all(running(proc.watch) for proc in procs), 30)
        check(both, f"{layout} work dir: both UMLs ran at the same time")
        for proc in procs:
            p.finish(proc)
            check(proc.returncode == 0, f"{layout} work dir: {proc.work.name}: passed (got {proc.returncode})")
            expect_nothing_left(proc.watch, [proc.work], f"{layout} work dir: ")
    check(image_state(p.image) == before, "the image is unchanged (contents, size, mtime)")


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def in_namespace():
    """Mounting a noexec or small tmpfs needs no root in a user+mount namespace
    of our own: re-runs this row there (skipped, loudly, where that is not allowed)."""
    if os.environ.get("UML_RELIABILITY_NAMESPACE") == "1":
        return
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = probe.stderr.strip()
        skip(f"this row needs an unprivileged user+mount namespace to mount a tmpfs (unshare -Urm: {why})")
    if not Path("/var/tmp").is_dir():
        skip("this row hides /tmp behind a tmpfs and needs /var/tmp to keep our directories reachable")
    env = dict(os.environ, UML_RELIABILITY_NAMESPACE="1")
    sys.exit(subprocess.run(["unshare", "-Urm", sys.executable, *sys.argv], env=env).returncode)


def hide_tmp(p, options):
    """/tmp becomes a fresh tmpfs with `options`; the directories this test
    uses below /tmp come back through bind mounts of the real ones."""
    mount("--rbind", "/tmp", "/var/tmp")
    mount("-t", "tmpfs", "-o", options, "tmpfs", "/tmp")
    for path in (p.helper, p.kernel, p.image, p.work):
        parts = Path(path).parts
        if parts[:2] == ("/", "tmp") and len(parts) > 2:
            Path("/tmp", parts[2]).mkdir(exist_ok=True)
            mount("--rbind", f"/var/tmp/{parts[2]}", f"/tmp/{parts[2]}")


def tmpdir_row(p, options, problem):
    """TMPDIR on a tmpfs mounted with `options` (in our own mount namespace):
    the helper puts the guest RAM elsewhere; when no candidate directory will
    do, it refuses with exit 125, naming each directory, its problem
    (`problem`, a regex) and the fix."""
    bad = p.work / "tmpdir"
    bad.mkdir()
    mount("-t", "tmpfs", "-o", options, "tmpfs", str(bad))
    env = dict(os.environ, TMPDIR=str(bad))
    r = p.boot("fallback", "--command", "true", env=env)
    check(r.returncode == 0, f"TMPDIR unusable, other directories fine: the boot passes (got {r.returncode})")
    chosen = re.search(r"Checking environment variables for a tempdir\.\.\.(\S+)", log_of(r))
    check(chosen and chosen[1] != str(bad), f"UML's guest RAM went elsewhere ({chosen and chosen[1]})")
    expect_nothing_left(r.watch, [r.work])

    mount("-t", "tmpfs", "-o", options, "tmpfs", "/dev/shm")
    hide_tmp(p, options)
    r = p.boot("nowhere", "--command", "true", env=env)
    print(r.text)
    check(r.returncode == 125, f"no usable directory: exit 125 (UML cannot run here), got {r.returncode}")
    for label, path in (("$TMPDIR", bad), ("/dev/shm", "/dev/shm"), ("/tmp", "/tmp")):
        pattern = rf"{re.escape(label)} \({re.escape(str(path))}\): {problem}"
        check(re.search(pattern, r.text), f"the error names {label} and its problem ('{pattern}')")
    check("set TMPDIR to a directory that allows exec mmap and has room for --mem" in r.text, "the error says the fix")
    check(not r.watch.seen.is_set(), "UML was not started")
    check(not list(r.work.glob("**/*.cow")) and not list(r.work.glob("u/*")), "no COW file or umid dir in the work dir")
    doctor = subprocess.run([p.helper, "doctor", "--kernel", p.kernel], env=env, capture_output=True, text=True)
    print(doctor.stdout)
    check(doctor.returncode == 125 and re.search(problem, doctor.stdout), "uml-helper doctor says the same (exit 125)")


def tmpdir_noexec(p):
    """TMPDIR on a noexec tmpfs: UML alone fails there; the helper boots with
    the guest RAM elsewhere, and with no exec-capable directory at all it
    refuses clearly (exit 125)."""
    tmpdir_row(p, "noexec", r"mmap with PROT_EXEC fails \(.*\): mounted noexec\?")
    # Why the helper must choose: UML alone takes $TMPDIR as it is. (In a
    # session of its own: a UML that got further would panic.)
    uml = [p.kernel, "mem=64M", "con=null", "ssl=null", "con0=null,fd:1", f"uml_dir={p.work}/raw", "umid=raw"]
    env = dict(os.environ, TMPDIR=str(p.work / "tmpdir"))
    raw = subprocess.run(uml, env=env, capture_output=True, text=True, timeout=60, start_new_session=True)
    print((raw.stdout + raw.stderr)[-800:])
    check(raw.returncode != 0 and "must be not mounted noexec" in raw.stdout + raw.stderr, "UML alone fails there")


def tmpdir_too_small(p):
    """TMPDIR on a 16 MiB tmpfs, the guest RAM 128 MiB: the helper boots with
    the guest RAM elsewhere, and with no directory big enough it refuses
    clearly (exit 125)."""
    tmpdir_row(p, "size=16m", r"16\.0 MiB free, less than mem=128\.0 MiB")


def long_build_path(p):
    """The project's build directory is longer than UML's socket paths allow:
    modules build there, and a boot test passes with a short uml_dir."""
    work = p.build / "_uml/boot/passes"
    check(len(str(p.build)) > 108, f"the build directory is {len(str(p.build))} characters long")
    check(Path(p.build / "_uml/module/hello/hello.ko").is_file(), "a module was built in it")
    watch = Watch(f"ubd0={work}/")
    r = run_caller(p.ctest_command("-R", "^passes$", "-V"))
    check(r.returncode == 0, f"the boot test passes (ctest exit {r.returncode})")
    check("path is too long for UML's sockets; using uml_dir=" in r.stdout, "the helper moved uml_dir, and said so")
    expect_nothing_left(watch, [work])


def clear_errors(p):
    """Bad input at boot time: each a clear message naming the problem, and
    nothing left. (Configure-time cases: tests/bad-input, plus a bad fragment
    here on this very project.)"""
    text_file = p.work / "text-kernel"
    text_file.parent.mkdir(parents=True, exist_ok=True)
    text_file.write_text("not a kernel\n")
    garbage, truncated = p.work / "garbage.img", p.work / "truncated.img"
    garbage.write_bytes(os.urandom(8 << 20))
    with open(p.image, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(os.path.getsize(p.image) // 8))
    missing = p.work / "no-such-file"
    cases = [
        ("missing kernel", dict(kernel=str(missing)), [], [2], [r"--kernel: File does not exist: .*no-such-file"]),
        ("not executable", dict(kernel=str(text_file)), [], [2, 125], [r"kernel: .*text-kernel: not executable"]),
        ("missing image", dict(image=str(missing)), [], [2], [r"--rootfs .*no-such-file: no such image file"]),
        ("garbage image", dict(image=str(garbage)), [], [4, 6], [r"hint: the root image could not be mounted"]),
        ("truncated image", dict(image=str(truncated)), [], [4, 6], [r"hint: the root image could not be mounted"]),
        ("unknown argument", {}, ["--frobnicate"], [2], [r"--frobnicate"]),
        ("bad size", {}, ["--mem", "lots"], [2], [r'--mem "lots": expected a size such as 128M']),
    ]
    for name, images, args, codes, patterns in cases:
        r = p.boot(name.replace(" ", "-"), *args, "--command", "true", **images)
        print(r.text[-600:])
        check(r.returncode in codes, f"{name}: exit in {codes}, got {r.returncode}")
        for pattern in patterns:
            check(re.search(pattern, r.text), f"{name}: the message matches '{pattern}'")
        check(not leftovers(r.watch, [r.work]), f"{name}: nothing left")

    fragment = p.work / "bad.config"
    fragment.write_text("CONFIG_HOSTFS=y\nHOSTFS=y\n")
    project = Path(__file__).resolve().parent / "project"
    variables = dict(UML_CACHE_DIR=p.cache_dir, UML_TEST_PACKAGE_DIR=p.package_dir, UML_TEST_KERNEL_FRAGMENT=fragment)
    r = run_caller(
        ["cmake", "-S", str(project), "-B", str(p.work / "bad-fragment"), "-G", "Ninja"]
        + [f"-D{name}={value}" for name, value in variables.items()]
    )
    flat = " ".join(r.stdout.split())  # CMake wraps its messages
    check(r.returncode != 0, "bad fragment: configure fails")
    check(re.search(r"fragment line .*bad\.config:2: 'HOSTFS=y'", flat), "bad fragment: names the file, line and text")
    check("Each line must be CONFIG_NAME=value" in flat, "bad fragment: says what a line must be")


def soak_100(p):
    """100 boots in a row: no process, no file in the work dir, TMPDIR,
    /dev/shm or the uml_dir fallback, and no growth in the peak memory of a
    boot (helper and UML, from wait4) from the first fifty to the last fifty."""
    tmp = p.work / "tmp"  # the guest RAM files of these boots, and nothing else
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    shm_before = set(os.listdir("/dev/shm"))
    peak_kib, seconds, problems, umids = [], [], [], set()
    available_before = meminfo("MemAvailable")
    for i in range(100):
        start = time.monotonic()
        proc = p.start("soak", "--module", "hello", "--command", "grep -q '^hello ' /proc/modules", env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        p.finish(proc)
        seconds.append(time.monotonic() - start)
        peak_kib.append(usage.ru_maxrss)
        umids |= proc.watch.umids
        if proc.returncode != 0:
            problems.append(f"boot {i}: exit {proc.returncode}")
        problems += leftovers(proc.watch, [proc.work])
    available_after = meminfo("MemAvailable")
    # One boot's peak is noisy: the same UML command line peaks anywhere from
    # 14 to 27 MiB, as the guest happens to touch more or fewer of its RAM pages.
    # Growth (a helper or a host-side file that grows with every boot) moves the
    # whole series, so the medians of the two halves are compared.
    first, last = statistics.median(peak_kib[:50]), statistics.median(peak_kib[50:])
    print(f"peak memory of a boot (median): first 50 {first} KiB, last 50 {last} KiB")
    print("peak memory of each boot (KiB):", " ".join(str(k) for k in peak_kib))
    print(f"seconds per boot (median): first 50 {statistics.median(seconds[:50]):.2f}, ", end="")
    print(f"last 50 {statistics.median(seconds[50:]):.2f}")
    print(f"host MemAvailable: {available_before} KiB before, {available_after} KiB after (other jobs move it)")
    check(not problems, f"100 boots pass and leave no process, COW or umid dir ({problems})")
    check(len(umids) == 100, f"100 distinct boots ran ({len(umids)} umids seen)")
    check(last <= first * 1.1 + 2048, "the peak memory of a boot does not grow")
    files = sorted(os.listdir(p.work / "soak"))
    check(files == ["console.log"], f"the work dir holds only the last console log ({files})")
    check(not os.listdir(tmp), f"TMPDIR is empty ({os.listdir(tmp)})")
    # Other tests (ctest -j2) boot at the same time and have their own short-lived
    # RAM dirs there: a leftover of the soak is one still there 10 s later.
    new_shm = {n for n in set(os.listdir("/dev/shm")) - shm_before if "uml" in n.lower()}
    deadline = time.monotonic() + 10
    while new_shm and time.monotonic() < deadline:
        time.sleep(0.5)
        new_shm &= set(os.listdir("/dev/shm"))
    check(not new_shm, f"nothing of UML's left in /dev/shm ({sorted(new_shm)})")
    ours = [d for d in glob.glob(f"{FALLBACK_UML_DIRS}/*") if os.path.basename(d) in umids]
    check(not ours, f"nothing of these boots in {FALLBACK_UML_DIRS} ({ours})")
    try:
        child = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        child = None
    check(child is None, f"no child process of this driver is left ({child})")


def meminfo(field):
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def hostfs_confined(p):
    """Issue #6 item 3: the guest, root in its own kernel, can neither read,
    list nor write host paths outside the declared hostfs directory, however
    it mounts hostfs (project/hostfs-probe.sh tries), nor mount any host path
    when no directory is declared."""
    root = p.hostfs  # shared/ is the declared directory, outside/ its sibling
    keep = {root / "shared/file", root / "outside/secret"}
    for path in sorted(root.rglob("*"), reverse=True):  # what earlier runs left
        if path not in keep and not path.is_dir():
            path.unlink()
    shutil.copy(Path(__file__).resolve().parent / "project/hostfs-probe.sh", root / "shared")
    # Where the probe's escapes write (shared/.., shared/../outside, shared/../../..).
    written = [d / "written-by-guest" for d in (root, root / "outside", root.parent.parent)]
    for path in written:
        path.unlink(missing_ok=True)
    secret = sha256(root / "outside/secret")
    for test, what in (("hostfs_confined", "with HOSTFS"), ("hostfs_none", "without HOSTFS")):
        work = p.build / "_uml/boot" / test
        watch = Watch(f"ubd0={work}/")
        r = run_caller(p.ctest_command("-R", f"^{test}$"))
        guest_log = (p.build / "_uml/tests" / f"{test}.log").read_text()
        for line in re.findall(r"ESCAPED: .*", guest_log):
            print("guest: " + line)
        confined = r.returncode == 0 and "ESCAPED" not in guest_log and "CONFINED" in guest_log
        check(confined, f"{what}: every hostfs mount the guest tried stayed inside the declared directory")
        expect_nothing_left(watch, [work], f"{what}: ")
    check(sha256(root / "outside/secret") == secret, "the file outside is unchanged")
    found = [str(path) for path in written if path.exists()]
    check(not found, f"the guest wrote nothing outside the declared directory ({found})")
    for path in written:
        path.unlink(missing_ok=True)


ROWS = [
    hang_timeout,
    panic_keeps_caller,
    oops_bug_warn,
    kill9_during_boot,
    sigint_clean_stop,
    base_image_100_boots,
    parallel_two_runs,
    tmpdir_noexec,
    tmpdir_too_small,
    long_build_path,
    clear_errors,
    soak_100,
    hostfs_confined,
]


def load_row_modules():
    """Rows of issue #12 live in their own files (rows_*.py), which use this
    script's helpers through __main__."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import rows_guest  # noqa: E402  (the guest cannot forge results)
    import rows_host  # noqa: E402  (the guest cannot reach the host)
    import rows_devices  # noqa: E402  (device models that go wrong)

    return rows_guest.ROWS + rows_host.ROWS + rows_devices.ROWS


def main():
    ROWS.extend(load_row_modules())
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print(";".join(row.__name__ for row in ROWS))
        return
    if len(sys.argv) != 4 or sys.argv[3] not in [row.__name__ for row in ROWS]:
        sys.exit(f"usage: {sys.argv[0]} BUILD_DIR WORK_DIR ROW; rows: {' '.join(row.__name__ for row in ROWS)}")
    build, work, name = sys.argv[1:]
    row = next(row for row in ROWS if row.__name__ == name)
    if row in (tmpdir_noexec, tmpdir_too_small):
        in_namespace()
    p = Project(build, Path(work) / name)
    shutil.rmtree(p.work, ignore_errors=True)
    p.work.mkdir(parents=True)
    print(f"== reliability.{name}: {' '.join(row.__doc__.split()) if row.__doc__ else ''}", flush=True)
    start = time.monotonic()
    row(p)
    print(f"== {len(failures)} failed check(s) in {time.monotonic() - start:.1f} s", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
