"""Two `make run` on one local cluster: the first to exit leaves it up for the other; the last
one out stops it; a user that died without leaving does not keep it up."""
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from layers.cluster import Cluster

ROOT = Path(__file__).resolve().parent.parent
USER = textwrap.dedent("""
    import sys
    from layers.cluster import Cluster
    c = Cluster(sys.argv[1], throwaway=True)
    c.acquire()
    print("ready", flush=True)
    if sys.stdin.readline().strip() == "leave":
        print(c.release(), flush=True)
""")


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="pgusers-", dir="/tmp")
    yield path
    Cluster(path).stop()
    shutil.rmtree(path, ignore_errors=True)


def other_process(root):
    proc = subprocess.Popen([sys.executable, "-c", USER, root], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_the_last_user_stops_the_cluster(root):
    first, second = Cluster(root, throwaway=True), Cluster(root, throwaway=True)
    first.acquire()
    second.acquire()
    assert first.running()
    assert first.release() == (False, 1)
    assert second.running()
    assert second.release() == (True, 0)
    assert not second.running()


def test_another_process_keeps_it_up_until_it_leaves(root):
    mine = Cluster(root, throwaway=True)
    mine.acquire()
    other = other_process(root)
    assert mine.release() == (False, 1) and mine.running()
    out, _ = other.communicate("leave\n", timeout=60)
    assert out.strip() == "(True, 0)" and not mine.running()


def test_a_user_that_died_does_not_hold_it(root):
    other = other_process(root)
    other.kill()
    other.wait()
    mine = Cluster(root, throwaway=True)
    mine.acquire()
    assert mine.release() == (True, 0) and not mine.running()


def test_a_cluster_started_by_someone_else_is_left_running(root):
    outside = Cluster(root, throwaway=True)
    outside.start()            # e.g. by a `flask …` command, which does not register
    mine = Cluster(root, throwaway=True)
    mine.acquire()
    assert mine.release() == (False, 0) and mine.running()
