"""kt2_artifact: the release is unpacked, current points at it, and the host's Python can run it."""


def test_current_points_at_an_unpacked_release(host):
    current = host.file("/opt/kt2ref/current")
    assert current.is_symlink and current.linked_to.startswith("/opt/kt2ref/releases/kt2ref-")
    assert host.file(f"{current.linked_to}/lib/kt2ref/__init__.py").exists


def test_the_hosts_python_imports_the_services(host):
    out = host.run("PYTHONPATH=/opt/kt2ref/current/lib python3 -c 'import kt2ref.auth_service.app, "
                   "kt2ref.kt13.app; print(kt2ref.__version__)'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip()
