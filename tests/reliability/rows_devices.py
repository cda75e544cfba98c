"""Device models that go wrong (issue #14): rows of reliability.py, which runs them;
they use its helpers through __main__. The model is project/hostile_model.cpp, a PCI
device (the test kernel's virtio id 1234) that misbehaves as its --mode says."""
from __main__ import *  # noqa: F401,F403  (check, Project, processes, wait_for, ...)

import glob
import os
import signal
import time

ROWS = []
PCI_VIRTIO_ID = 1234  # tests/projects/common/test-kernel.config


def hostile(p, mode, name="card"):
    return ["--device", f"{name}:{PCI_VIRTIO_ID}:{p.hostile_model}", "--device-arg", f"{name}:--mode",
            "--device-arg", f"{name}:{mode}"]


def models(p):
    """Living hostile models."""
    return [(pid, cmd[:120]) for pid, _, cmd in processes() if p.hostile_model in cmd]


def expect_no_model_left(p, proc, what=""):
    """No model process within 5 s, no socket or log of the boot's models."""
    alive = wait_for(lambda: not models(p), 5) or models(p)
    check(alive is True, f"{what}no model process left ({alive})")
    # The helper's umids are uh<its pid>-<hex>; a model's files are <umid>-<device>.sock,
    # .sock.l (while it binds) and .log, in the work dir's u/ or a fallback uml_dir.
    files = []
    for directory in (f"{proc.work}/u", FALLBACK_UML_DIRS):
        for suffix in (".sock", ".sock.l", ".log"):
            files += glob.glob(f"{directory}/uh{proc.pid}-*-card{suffix}")
    check(not files, f"{what}no model socket or log left ({files})")


def device_serves(p):
    """The control row: a model that behaves gives the guest its PCI device; the test
    passes and nothing is left."""
    proc = p.boot("serves", *hostile(p, "serve"), "--timeout", "60", "--command",
                  "grep -l 0xbad0 /sys/bus/pci/devices/*/device")
    print(proc.text[-600:])
    check(proc.returncode == 0, f"exit 0, got {proc.returncode}")
    expect_nothing_left(proc.watch, [proc.work])
    expect_no_model_left(p, proc)


ROWS.append(device_serves)


def device_never_listens(p):
    """A model that never opens its socket: exit 9 after --device-timeout, naming the
    model and the socket; UML never starts; the model is stopped."""
    start = time.monotonic()
    proc = p.boot("never-listens", *hostile(p, "never-listen"), "--device-timeout", "2", "--command", "true")
    took = time.monotonic() - start
    print(proc.text[-800:])
    check(proc.returncode == 9, f"exit 9 (device failed), got {proc.returncode}")
    check("did not open its socket" in proc.text and "within 2 s" in proc.text, "the error says what the model did not do")
    check(took < 15, f"it ended soon after the 2 s allowed ({took:.1f} s)")
    check(not proc.watch.umids, "UML was never started")
    expect_no_model_left(p, proc)


ROWS.append(device_never_listens)


def device_exits_early(p):
    """A model that exits before it listens: exit 9 with its status and its last output."""
    proc = p.boot("exits-early", *hostile(p, "exit-early"), "--command", "true")
    print(proc.text[-800:])
    check(proc.returncode == 9, f"exit 9, got {proc.returncode}")
    check("failed (exit 1: the model's own error) before it opened its socket" in proc.text, "the error names how it ended")
    check("exiting before listening, as asked" in proc.text, "the model's last output is in the error")
    check(not proc.watch.umids, "UML was never started")
    expect_no_model_left(p, proc)


ROWS.append(device_exits_early)


def device_crashes(p):
    """A model that crashes mid-boot (SIGSEGV at the guest's first request): UML is
    stopped at once, exit 9 naming the crash; nothing left."""
    start = time.monotonic()
    proc = p.boot("crashes", *hostile(p, "crash"), "--timeout", "120", "--command", "sleep 100")
    took = time.monotonic() - start
    print(proc.text[-1000:])
    check(proc.returncode == 9, f"exit 9, got {proc.returncode}")
    check("killed by SIGSEGV (it crashed) while the guest ran" in proc.text, "the error says the model crashed")
    check("crashing now, as asked" in proc.text, "the model's last output is in the error")
    check(took < 60, f"UML stopped long before the timeout ({took:.1f} s)")
    # UML may live only milliseconds (the model crashes at virt-pci's first kick), too
    # short for the watcher, and killed before its console says much: the log's header
    # shows it was started with the device; nothing of it may be left.
    log = (proc.work / "console.log").read_text(errors="replace") if (proc.work / "console.log").exists() else ""
    check("virtio_uml.device=" in log, "UML was started with the device (the log's command line)")
    left = leftovers(proc.watch, [proc.work]) + glob.glob(f"{proc.work}/*.cow")
    check(not left, f"no process, COW file or umid directory left ({left})")
    expect_no_model_left(p, proc)


ROWS.append(device_crashes)


def device_hangs(p):
    """A model that stops answering (at virt-pci's first kick): UML's front end waits
    for the model's acknowledgement of its next message and the boot never reaches
    init; the test's timeout ends it. The verdict is the model's (exit 9: it did not
    end when UML's socket closed), the guest's timeout in the details; nothing left."""
    start = time.monotonic()
    proc = p.boot("hangs", *hostile(p, "hang"), "--timeout", "20", "--command", "true")
    took = time.monotonic() - start
    print(proc.text[-1500:])
    check(proc.returncode == 9, f"exit 9, got {proc.returncode}")
    check("did not end when UML closed its socket" in proc.text or "while the guest ran" in proc.text,
          "the error says the model hung")
    check("hanging now, as asked" in proc.text, "the model's last output is in the error")
    check(took < 60, f"it ended within the timeout and the grace ({took:.1f} s)")
    expect_nothing_left(proc.watch, [proc.work])
    expect_no_model_left(p, proc)


ROWS.append(device_hangs)


def device_garbage(p):
    """A model that answers with garbage: UML's front end refuses the device (its probe
    fails with a protocol error, in the console), the guest has no such device, so a
    test that needs it fails; the model ends when UML closes the socket; nothing left."""
    proc = p.boot("garbage", *hostile(p, "garbage"), "--timeout", "60", "--command",
                  "grep -l 0xbad0 /sys/bus/pci/devices/*/device")
    log = (proc.work / "console.log").read_text(errors="replace") if (proc.work / "console.log").exists() else ""
    print(proc.text[-800:])
    check(proc.returncode == 1, f"exit 1 (the guest found no device), got {proc.returncode}")
    check("virtio-uml" in log and "failed with error -71" in log, "the console has the front end's protocol error (-EPROTO)")
    expect_nothing_left(proc.watch, [proc.work])
    expect_no_model_left(p, proc)


ROWS.append(device_garbage)


def guest_panics_with_model(p):
    """A guest that panics with a model attached: exit 4 (the guest's verdict: the model
    did nothing wrong and ends with UML); nothing left."""
    proc = p.boot("panics", *hostile(p, "serve"), "--timeout", "60", "--command", "echo c > /proc/sysrq-trigger")
    print(proc.text[-800:])
    check(proc.returncode == 4, f"exit 4 (kernel panic), got {proc.returncode}")
    expect_nothing_left(proc.watch, [proc.work])
    expect_no_model_left(p, proc)


ROWS.append(guest_panics_with_model)


def helper_killed_with_model(p):
    """uml-helper SIGKILLed while a model serves the guest: its guardian kills UML and
    the model (each in a session of its own) and removes the sockets."""
    proc = p.start("killed", *hostile(p, "serve"), "--timeout", "120", "--command", "sleep 100")
    seen = wait_for(lambda: proc.watch.seen.is_set() and models(p), 60)
    check(bool(seen), "UML and the model were seen running")
    time.sleep(1)
    os.kill(proc.pid, signal.SIGKILL)
    p.finish(proc)
    # The guardian kills the sessions first, then removes the files: give it its time.
    alive = [] if wait_for(lambda: not proc.watch.left() and not models(p), 10) else proc.watch.left() + models(p)
    check(not alive, f"no UML or model process alive within 10 s of the helper's SIGKILL ({alive})")
    gone = wait_for(lambda: not leftovers(proc.watch, [proc.work], wait=0), 10)
    left = [] if gone else leftovers(proc.watch, [proc.work], wait=0)
    check(not left, f"no COW file or umid directory left within 10 s ({left})")
    expect_no_model_left(p, proc)


ROWS.append(helper_killed_with_model)
