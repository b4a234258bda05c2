"""keep_large_allocations_in_heap: applies on Linux glibc (this machine) and is a no-op returning False elsewhere."""
import platform

from fastembody_core.seeding import keep_large_allocations_in_heap


def test_applies_on_glibc_and_repeats():
    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_large_allocations_in_heap() is expected
    assert keep_large_allocations_in_heap() is expected  # idempotent


def test_is_a_no_op_off_glibc(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("musl", "1.2"))
    assert keep_large_allocations_in_heap() is False
