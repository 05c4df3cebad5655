"""Tie a process's life to its parent's, so that killing a run stops all of its work.

Ansible runs each task in a worker process of a session of its own, and `kt2 journey` runs each leg as a
child: without this, SIGKILL of `ansible-playbook` (or a crash) would leave a migration or a backup
running on, unseen, beside the operator's next attempt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere nothing happens).

    Also usable as `preexec_fn` of a child: the setting survives exec.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)
