from conman_systemd.cgroups import CgroupMode, detect_mode, hierarchies

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = """\
9:name=systemd:/
4:memory:/process_api/abc
3:cpuset:/
1:cpu:/
0::/
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_COMOUNTED = """\
31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu
"""


def test_detects_each_mode() -> None:
    assert detect_mode(HYBRID_MOUNTINFO) is CgroupMode.HYBRID
    assert detect_mode(V2_MOUNTINFO) is CgroupMode.V2
    assert detect_mode(V1_COMOUNTED) is CgroupMode.V1
    assert detect_mode("22 1 0:5 / /proc rw - proc proc rw\n") is None


def test_hierarchies_place_the_caller_under_each_mount() -> None:
    found = {h.mountpoint: h for h in hierarchies(HYBRID_MOUNTINFO, HYBRID_CGROUP)}
    assert found["/sys/fs/cgroup/memory"].own_dir == "/sys/fs/cgroup/memory/process_api/abc"
    assert found["/sys/fs/cgroup/systemd"].options == "name=systemd"
    assert found["/sys/fs/cgroup/unified"].fstype == "cgroup2"
    assert found["/sys/fs/cgroup/cpu"].own_dir == "/sys/fs/cgroup/cpu"


def test_comounted_controllers_match_in_any_order() -> None:
    (h,) = hierarchies(V1_COMOUNTED, "2:cpu,cpuacct:/a/b\n")
    assert h.own_dir == "/sys/fs/cgroup/cpu,cpuacct/a/b"


def test_v2_under_a_namespace_root() -> None:
    (h,) = hierarchies("30 23 0:26 /x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/x/y\n")
    assert h.own_dir == "/sys/fs/cgroup/y"
