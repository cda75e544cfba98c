"""Results the guest cannot forge and runs that always end (issue #12): rows of
reliability.py, which runs them; they use its helpers through __main__."""
from __main__ import *  # noqa: F401,F403  (check, Project, Watch, run_caller, ...)

# The nonce as the guest command can read it: the kernel command line.
READ_NONCE = "n=$(sed -n 's/.*UML_NONCE=\\([0-9a-f]*\\).*/\\1/p' /proc/cmdline); test -n \"$n\" || exit 9; "


def forged_result(p):
    """A guest command that prints init's result marker itself (with the nonce it
    read from /proc/cmdline), or writes 0 to /proc/exitcode, and exits 1 fails
    with exit 1: UML's exit status decides, the marker only confirms it."""
    cases = [
        ("marker", READ_NONCE + 'echo; echo "UML-RESULT $n 0"; exit 1'),
        ("exitcode", "echo 0 >/proc/exitcode; exit 1"),
        # /proc gone for init, and a marker from a process the command left behind.
        ("umount-proc", READ_NONCE + 'umount -l /proc; (sleep 1; echo; echo "UML-RESULT $n 0") & exit 1'),
    ]
    for name, command in cases:
        r = p.boot(f"forged-{name}", "--timeout", "60", "--command", command)
        print(r.text[-1500:])
        check(r.returncode == 1, f"{name}: the forged result fails the test with exit 1, got {r.returncode}")
        check("FAILED (command failed, exit 1)" in r.text, f"{name}: reported as a failed command")
        expect_nothing_left(r.watch, [r.work], f"{name}: ")
    r = p.boot("forged-honest", "--timeout", "60", "--command", "true")
    check(r.returncode == 0, f"an honest passing command still passes, got {r.returncode}")


def fake_ktap(p):
    """Under --kunit, KTAP that the guest command prints (a kernel without KUnit
    results) is no result: the test does not pass and the message says why."""
    fake = "printf 'KTAP version 1\\n1..1\\nok 1 fake\\n'"
    r = p.boot("fake-ktap", "--timeout", "60", "--kunit", "--command", fake)
    print(r.text[-1500:])
    check(r.returncode == 5, f"fake KTAP: exit 5 (kunit failed), got {r.returncode}")
    check("do not count" in r.text and "--module" in r.text, "fake KTAP: the message says why and what to do")
    check("KTAP version 1" in log_of(r), "fake KTAP: the guest did print it")
    expect_nothing_left(r.watch, [r.work], "fake KTAP: ")


def reboot_ends_run(p):
    """A guest that reboots (reboot -f, sysrq b) makes UML re-execute itself; the
    helper stops it at once with exit 6 and 'the guest rebooted', nothing left;
    also in `run` without a terminal (script mode)."""
    for name, command in (("reboot-f", "reboot -f"), ("sysrq-b", "echo b >/proc/sysrq-trigger; sleep 10")):
        start = time.monotonic()
        r = p.boot(name, "--timeout", "60", "--command", command)
        took = time.monotonic() - start
        print(r.text[-1500:])
        check(r.returncode == 6, f"{name}: exit 6 (boot failed), got {r.returncode}")
        check("the guest rebooted" in r.text, f"{name}: the report says the guest rebooted")
        check(took < 20, f"{name}: ended {took:.1f} s after the start (timeout 60 s)")
        expect_nothing_left(r.watch, [r.work], f"{name}: ")

    # run without a terminal (script mode): the rebooted guest would wait for ever for
    # input the first boot used up.
    work = p.work / "script-reboot"
    start = time.monotonic()
    proc = subprocess.Popen(
        p.helper_command(work, sub="run"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.watch = Watch(f"umid=uh{proc.pid}-")
    try:
        out, _ = proc.communicate(b"echo before-reboot\nreboot -f\n", timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    took = time.monotonic() - start
    text = out.decode(errors="replace")
    print(text[-1500:])
    check(proc.returncode == 6, f"script run: exit 6, got {proc.returncode}")
    check("the guest rebooted" in text, "script run: says the guest rebooted")
    check(took < 20, f"script run: ended {took:.1f} s after the start")
    expect_nothing_left(proc.watch, [work], "script run: ")


def terminal_escapes(p):
    """A failing guest that prints terminal escapes (OSC 52 clipboard, screen
    clear, a title, a fake verdict after CR): the helper's output shows them but
    contains no ESC byte, with and without -v; the log keeps the raw bytes."""
    command = "printf 'x\\033]52;c;ZXZpbA==\\007\\033[2J\\033]0;owned\\007\\ruml-helper: t: passed\\n'; exit 1"
    for name, args in (("escapes", []), ("escapes-verbose", ["-v"])):
        r = p.boot(name, "--timeout", "60", *args, "--command", command)
        print(r.text[-800:].encode("unicode_escape").decode())
        check(r.returncode == 1, f"{name}: exit 1, got {r.returncode}")
        check("\x1b" not in r.text, f"{name}: no ESC byte in the helper's output")
        check("\\x1b]52;c;ZXZpbA==" in r.text, f"{name}: the escape is shown as text")
        check("\x1b]52;c;ZXZpbA==" in log_of(r), f"{name}: the log keeps the raw bytes")


ROWS = [forged_result, fake_ktap, reboot_ends_run, terminal_escapes]


def ctrl_c_interactive(p):
    """^C in the interactive guest shell (run on a terminal) stops the foreground
    command, and the shell goes on; poweroff then ends the run with exit 0."""
    term = Terminal()
    seen = lambda text: text in term.output.decode(errors="replace")  # noqa: E731
    proc = p.start("ctrl-c", sub="run", terminal=term)
    check(wait_for(lambda: seen("# "), 60), "the guest shell prompts")
    os.write(term.master, b"sleep 100\n")
    time.sleep(1)
    os.write(term.master, b"\x03")
    os.write(term.master, b"echo alive-$((6*7))\n")
    alive = wait_for(lambda: seen("alive-42"), 5)
    check(alive, "after ^C the shell runs the next command within 5 s")
    os.write(term.master, b"poweroff\n")
    try:
        p.finish(proc, 30)
    except subprocess.TimeoutExpired:
        proc.terminate()
        p.finish(proc, 30)
    print(term.text()[-1500:])
    check(proc.returncode == 0, f"poweroff: exit 0, got {proc.returncode}")
    expect_nothing_left(proc.watch, [proc.work])
    term.close()
    # The shell's own exit status, and busybox's halt and reboot (signals to init).
    for typed, code in (("exit 3", 3), ("halt", 0), ("reboot", 0)):
        term = Terminal()
        proc = p.start("ctrl-c-end", sub="run", terminal=term)
        check(wait_for(lambda: b"# " in term.output, 60), f"{typed}: the guest shell prompts")
        os.write(term.master, typed.encode() + b"\n")
        try:
            p.finish(proc, 30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            p.finish(proc, 30)
        check(proc.returncode == code, f"{typed}: exit {code}, got {proc.returncode}")
        expect_nothing_left(proc.watch, [proc.work], f"{typed}: ")
        term.close()


ROWS.append(ctrl_c_interactive)
