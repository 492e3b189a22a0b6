"""What the job scripts share: the device they run on (argument ``cuda``, else the CPU) and the
test-only hook that lets several ranks share one GPU."""
import os
import sys

from tessera import dist

DEVICE = "cuda" if "cuda" in sys.argv[1:] else "cpu"


def share_one_gpu():
    """NCCL refuses two ranks on one GPU ("Duplicate GPU detected"). For correctness tests only,
    each rank claims a host of its own, and they talk over loopback sockets: a test hook, not a
    performance path. Must run before the first NCCL call."""
    if DEVICE == "cuda" and dist.world_size() > 1:
        os.environ.update(NCCL_HOSTID=f"tessera-test-rank-{dist.rank()}", NCCL_SOCKET_IFNAME="lo",
                          NCCL_IB_DISABLE="1")
