"""Reading the memory a run can have: the kernel's MemAvailable or a container's limit."""

from robustfx.pipeline.host_memory import available_memory


def test_memavailable_is_read(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:   2048 kB\n")
    assert available_memory(str(meminfo), cgroups=()) == 2048 * 1024


def test_a_nearer_container_limit_wins(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable: 4096 kB\n")
    (tmp_path / "max").write_text("3000000\n")
    (tmp_path / "current").write_text("1000000\n")
    cgroups = ((str(tmp_path / "max"), str(tmp_path / "current")),)
    assert available_memory(str(meminfo), cgroups) == 2000000


def test_no_limit_and_nothing_readable(tmp_path):
    (tmp_path / "max").write_text("max\n")
    (tmp_path / "current").write_text("5\n")
    cgroups = ((str(tmp_path / "max"), str(tmp_path / "current")),)
    assert available_memory(str(tmp_path / "missing"), cgroups) is None
