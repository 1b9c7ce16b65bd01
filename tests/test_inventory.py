"""xenlab.inventory: the shipped inventory, small bad inventories, --hosts, the box's inventory."""
from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xenlab.errors import InventoryError
from xenlab.inventory import (
    REQUIRED_LAB_VARS,
    JumpHop,
    box_inventory_path,
    jump_hops,
    load_lab,
    load_labs,
    with_hosts,
)

SHIPPED = Path(__file__).resolve().parent.parent / "inventory.ini"


def inventory(tmp_path: Path, text: str, name: str = "lab.ini") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def shipped_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert old in text
    return inventory(tmp_path, text.replace(old, new, 1))


def error(path: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_labs(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_shipped_inventory_is_the_articles_lab():
    lab = load_lab(SHIPPED)
    assert lab.name == "inventory"
    assert (lab.target.name, lab.source.name, lab.destination.name) == ("target", "test1", "test2")
    assert [h.name for h in lab.xen_hosts] == ["test1", "test2"]
    assert lab.source.address == "172.16.31.1" and lab.source.lab_ip == "172.16.31.1"
    assert (lab.target.port, lab.target.user, lab.target.key_file) == (22, "root", None)
    assert lab.require("iscsi_iqn") == "iqn.2015-02.com.stu31:t1"
    assert lab.vars["iscsi_port"] == "3260"
    assert set(REQUIRED_LAB_VARS) <= set(lab.vars)
    assert "migration_role" not in lab.vars and "inventory_hostname" not in lab.vars
    assert lab.source.vars["migration_role"] == "source"


def test_require_names_the_missing_var():
    with pytest.raises(InventoryError, match=r"inventory.ini: lab inventory: lab var nope is not set"):
        load_lab(SHIPPED).require("nope")


@pytest.mark.parametrize("old, new, cause", [
    ("target ansible_host=172.16.31.3 lab_ip=172.16.31.3\n", "",
     "group iscsi_target must have exactly 1 host, has 0"),
    ("migration_role=destination", "migration_role=source",
     "group xen_hosts: exactly one host must have migration_role=source, 2 have"),
    (" migration_role=destination", "",
     "host test2: migration_role must be source or destination, is not set"),
    ("migration_role=destination", "migration_role=dest",
     "host test2: migration_role must be source or destination, is 'dest'"),
    ("iscsi_iqn=iqn.2015-02.com.stu31:t1\n", "",
     "lab var iscsi_iqn is not set (set it in [lab:vars])"),
    ("lab_ip=172.16.31.2", "lab_ip=172.16.31.2 bridge=xenbr1",
     "lab var bridge differs between hosts (target='xenbr0', test1='xenbr0', test2='xenbr1')"),
    (" lab_ip=172.16.31.3", "", "host target: lab_ip is not set"),
    ("ansible_host=172.16.31.1", "ansible_host=172.16.31.1 ansible_port=ssh",
     "host test1: ansible_port 'ssh' is not a number"),
])
def test_a_bad_inventory_is_one_line_naming_file_host_and_cause(tmp_path, old, new, cause):
    path = shipped_with(tmp_path, old, new)
    assert error(path) == f"{path}: {cause}"


def test_several_missing_vars_are_counted(tmp_path):
    path = inventory(tmp_path, "[iscsi_target]\nt lab_ip=1\n[xen_hosts]\n"
                               "a lab_ip=2 migration_role=source\nb lab_ip=3 migration_role=destination\n")
    assert error(path) == (f"{path}: lab var iscsi_iqn is not set (set it in [lab:vars]) (and 29 "
                           "more: iscsi_port, iscsi_lun, iscsi_backing_store, "
                           "iscsi_initiator_address, shared_disk, ...)")


def test_a_third_xen_host_is_refused(tmp_path):
    path = shipped_with(tmp_path, "[lab:children]", "test3 lab_ip=10.0.0.3\n\n[lab:children]")
    assert "group xen_hosts must have exactly 2 hosts, has 3 (test1, test2, test3)" in error(path)


def test_missing_and_unparsable_files(tmp_path):
    assert error(tmp_path / "none.ini") == f"{tmp_path / 'none.ini'}: no such inventory file or directory"
    broken = inventory(tmp_path, "[iscsi_target\nfoo bar=\n")
    assert "ansible found no hosts in it" in error(broken)


def test_password_is_never_shown(tmp_path):
    path = shipped_with(tmp_path, "target ansible_host=172.16.31.3",
                        "target ansible_host=172.16.31.3 ansible_password=hunter2")
    spec = load_lab(path).target
    assert spec.password == "hunter2"
    assert "hunter2" not in repr(spec) and "hunter2" not in str(spec)
    assert "password=***" in repr(spec)
    assert "hunter2" not in repr(dict(spec.vars))


def test_group_vars_host_vars_and_ranges(tmp_path):
    """ansible does the reading: ranges, children, group_vars/ and host_vars/ all count."""
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "host_vars").mkdir()
    lab_vars = "\n".join(f"{v}: '1'" for v in REQUIRED_LAB_VARS)
    (tmp_path / "group_vars" / "lab.yml").write_text(
        lab_vars + "\nansible_user: admin\nansible_ssh_private_key_file: ~/.ssh/lab\n"
        "xenlab_host_key_checking: false\n")
    (tmp_path / "host_vars" / "xen1.yml").write_text("migration_role: source\nlab_ip: 10.0.0.1\n")
    (tmp_path / "host_vars" / "xen2.yml").write_text(
        "migration_role: destination\nlab_ip: 10.0.0.2\nansible_port: 2202\n")
    path = inventory(tmp_path, "[iscsi_target]\ntgt ansible_host=10.0.0.3 lab_ip=10.0.0.3\n"
                               "[xen_hosts]\nxen[1:2]\n[lab:children]\niscsi_target\nxen_hosts\n",
                     name="hosts")
    lab = load_lab(path)
    assert (lab.name, lab.source.name, lab.destination.name) == ("hosts", "xen1", "xen2")
    assert (lab.destination.address, lab.destination.port) == ("xen2", 2202)
    assert lab.source.user == "admin"
    assert lab.source.key_file == os.path.expanduser("~/.ssh/lab")
    assert lab.source.host_key_checking is False and lab.target.known_hosts is None
    assert lab.require("guest_ip") == "1"


CLASS = """
[labs:children]
lab_a
lab_b

[lab_a:children]
a_target
a_xen
[lab_b:children]
b_target
b_xen

[a_target]
a0 lab_ip=10.1.0.3
[a_xen]
a1 lab_ip=10.1.0.1 migration_role=source
a2 lab_ip=10.1.0.2 migration_role=destination
[b_target]
b0 lab_ip=10.2.0.3
[b_xen]
b1 lab_ip=10.2.0.1 migration_role=destination
b2 lab_ip=10.2.0.2 migration_role=source

[iscsi_target:children]
a_target
b_target
[xen_hosts:children]
a_xen
b_xen
"""


LABS_VARS = "\n[labs:vars]\n" + "\n".join(f"{v}=1" for v in REQUIRED_LAB_VARS if v != "guest_ip")


def test_class_mode_one_lab_per_child_of_labs(tmp_path):
    path = inventory(tmp_path, CLASS + LABS_VARS +
                     "\n[lab_a:vars]\nguest_ip=10.1.0.4\n[lab_b:vars]\nguest_ip=10.2.0.4\n")
    a, b = load_labs(path)
    assert (a.name, a.target.name, a.source.name, a.destination.name) == ("lab_a", "a0", "a1", "a2")
    assert (b.name, b.target.name, b.source.name, b.destination.name) == ("lab_b", "b0", "b2", "b1")
    assert (a.require("guest_ip"), b.require("guest_ip")) == ("10.1.0.4", "10.2.0.4")
    with pytest.raises(InventoryError, match=r"group labs holds 2 labs \(lab_a, lab_b\); expected one"):
        load_lab(path)


def test_class_mode_names_the_broken_lab(tmp_path):
    path = inventory(tmp_path, CLASS.replace("b0 lab_ip=10.2.0.3\n", "") + LABS_VARS
                     + "\n[lab_a:vars]\nguest_ip=10.1.0.4\n")
    assert error(path) == (f"{path}: lab lab_b: group iscsi_target must have exactly 1 host, "
                           "has 0")


def test_hosts_option_maps_onto_inventory_hosts():
    lab = with_hosts(load_lab(SHIPPED), ["ssh://admin:pw@172.16.31.1:2222", "paramiko://test2",
                                         "local://target", "ansible://test1"])
    assert (lab.source.user, lab.source.port, lab.source.password) == ("admin", 2222, "pw")
    assert lab.destination == load_lab(SHIPPED).destination
    assert lab.target.is_local and lab.target.endpoint == "local"


def test_hosts_option_on_one_address_picks_by_port(tmp_path):
    path = inventory(tmp_path, SHIPPED.read_text().replace("ansible_host=172.16.31.", "ansible_port=220"
                     ).replace("lab_ip=", "ansible_host=127.0.0.1 lab_ip="))
    lab = with_hosts(load_lab(path), ["ssh://tester@127.0.0.1:2202"])
    assert (lab.destination.user, lab.source.user) == ("tester", "root")


@pytest.mark.parametrize("spec, cause", [
    ("ssh://test9", "test9 is not a host of {inv} (hosts: target, test1, test2)"),
    ("10.9.9.9", "10.9.9.9 is not a host of {inv} (hosts: target, test1, test2)"),
    ("docker://test1", "unsupported scheme docker:// (use ssh://, paramiko://, ansible:// or local://)"),
])
def test_hosts_option_unknown_host_is_one_line(spec, cause):
    with pytest.raises(InventoryError) as caught:
        with_hosts(load_lab(SHIPPED), [spec])
    assert str(caught.value) == f"--hosts {spec}: " + cause.format(inv=SHIPPED)


def box_state(tmp_path: Path, monkeypatch, pid: int, inventory_file: bool = True) -> Path:
    monkeypatch.setenv("XENLAB_STATE", str(tmp_path))
    box = tmp_path / "box"
    box.mkdir()
    if inventory_file:
        (box / "inventory.ini").write_text("[iscsi_target]\n")
    vms = {name: {"pid": pid} for name in ("target", "test1", "test2")}
    (box / "state.json").write_text(json.dumps({"supervisor": pid, "vms": vms}))
    return box / "inventory.ini"


def test_box_inventory_when_the_box_is_up(tmp_path, monkeypatch):
    assert box_state(tmp_path, monkeypatch, os.getpid()) == box_inventory_path()


def test_no_box_inventory_when_its_pids_are_gone(tmp_path, monkeypatch):
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its pid names no process
    box_state(tmp_path, monkeypatch, child.pid)
    assert box_inventory_path() is None


def test_no_box_inventory_without_state_or_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XENLAB_STATE", str(tmp_path))
    assert box_inventory_path() is None
    box_state(tmp_path, monkeypatch, os.getpid(), inventory_file=False)
    assert box_inventory_path() is None


def test_ssh_config_fills_what_the_inventory_leaves_open(tmp_path):
    from xenlab.inventory import with_ssh_config
    path = tmp_path / "inv.ini"
    path.write_text(SHIPPED.read_text().replace(
        "test1 ansible_host=172.16.31.1 ", "test1 "))
    config = tmp_path / "ssh_config"
    config.write_text("Host test1\n  HostName 192.0.2.77\n  Port 2222\n  IdentityFile /k/id\n"
                      "Host test2\n  HostName 192.0.2.78\n")
    lab = with_ssh_config(load_lab(path), str(config))
    test1 = next(h for h in lab.hosts if h.name == "test1")
    test2 = next(h for h in lab.hosts if h.name == "test2")
    assert (test1.address, test1.port, test1.key_file) == ("192.0.2.77", 2222, "/k/id")
    assert test2.address == "172.16.31.2"  # the inventory's ansible_host wins


def test_ssh_config_gives_jump_hosts_and_proxy_commands_unless_the_inventory_does(tmp_path):
    from xenlab.inventory import with_ssh_config
    path = tmp_path / "inv.ini"
    path.write_text(SHIPPED.read_text().replace(
        "test2 ansible_host=172.16.31.2 ",
        "test2 ansible_host=172.16.31.2 ansible_ssh_common_args='-J root@gw' "))
    config = tmp_path / "ssh_config"
    config.write_text("Host test1\n  ProxyJump admin@bastion:2222\n"
                      "Host target\n  HostName 172.16.31.3\n  ProxyCommand nc -x proxy:1080 %h %p\n")
    lab = with_ssh_config(load_lab(path), str(config))
    found = {h.name: (h.proxy_jump, h.proxy_command) for h in lab.hosts}
    assert found["test1"] == ("admin@bastion:2222", None)
    assert found["test2"] == ("root@gw", None)  # the inventory's own wins
    assert found["target"] == (None, "nc -x proxy:1080 172.16.31.3 22")
    config.write_text("Host target\n  ProxyCommand nc %h %p\nHost *\n  ProxyJump other\n")
    with pytest.raises(InventoryError, match="host target: both ProxyJump and ProxyCommand apply"):
        with_ssh_config(load_lab(path), str(config))


def test_lab_values_are_typed_once_when_the_inventory_is_read():
    values = load_lab(SHIPPED).values
    assert (values.iscsi_port, values.iscsi_lun, values.lab_prefix) == (3260, 1, 16)
    assert values.migration_downtime_max_s == 1.0 and values.iscsi_iqn == "iqn.2015-02.com.stu31:t1"


@pytest.mark.parametrize("old, new, cause", [
    ("iscsi_port=3260", "iscsi_port=326O",
     "lab var iscsi_port='326O' (on target, test1, test2) is not a whole number from 1 to 65535"),
    ("lab_prefix=16", "lab_prefix=33",
     "lab var lab_prefix='33' (on target, test1, test2) is not a whole number from 0 to 32"),
    ("guest_memory_mib=512", "guest_memory_mib=512M",
     "lab var guest_memory_mib='512M' (on target, test1, test2) is not a whole number of at "
     "least 1"),
    ("migration_downtime_max_s=1.0", "migration_downtime_max_s=one",
     "lab var migration_downtime_max_s='one' (on target, test1, test2) is not a number of at "
     "least 0"),
])
def test_a_malformed_lab_value_is_one_line_naming_the_var_and_hosts(tmp_path, old, new, cause):
    assert error(shipped_with(tmp_path, old, new)) == f"{tmp_path / 'lab.ini'}: {cause}"


def test_the_readmes_hosts_example_does_what_it_says():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [line] = [l for l in readme.splitlines() if l.startswith("pytest --inventory=mylab.ini --hosts=")]
    spec = re.search(r"--hosts=(\S+)", line).group(1)
    lab = with_hosts(load_lab(Path(__file__).resolve().parent.parent / "inventory.ini"), [spec])
    test1 = next(h for h in lab.hosts if h.name == "test1")
    assert (test1.user, test1.port) == ("admin", 2222)
    assert "test1 of the inventory, as admin, port 2222" in line


CONNECTION = """[iscsi_target]
target ansible_host=192.0.2.10 lab_ip=198.51.100.3
[xen_hosts]
test1 ansible_host=198.51.100.1 lab_ip=198.51.100.1 migration_role=source {extra}
test2 ansible_host=198.51.100.2 lab_ip=198.51.100.2 migration_role=destination
"""


def connection_lab(tmp_path: Path, extra: str):
    shipped = (Path(__file__).resolve().parent.parent / "inventory.ini").read_text()
    lab_vars = shipped[shipped.index("[lab:vars]"):]
    path = tmp_path / "lab.ini"
    path.write_text(CONNECTION.format(extra=extra) + "[lab:children]\niscsi_target\nxen_hosts\n"
                    + lab_vars)
    return path


@pytest.mark.parametrize("extra, cause", [
    ("ansible_ssh_common_args='-o ForwardAgent=yes'",
     "host test1: ansible_ssh_common_args 'ForwardAgent=yes' is not supported (xenlab connects "
     "with paramiko"),
    ("ansible_ssh_extra_args='-A'", "host test1: ansible_ssh_extra_args '-A' is not supported"),
    ("ansible_ssh_extra_args='-J root@192.0.2.10:x'",
     "host test1: ProxyJump 'root@192.0.2.10:x': 'root@192.0.2.10:x' is not [user@]host[:port]"),
    ("ansible_ssh_common_args='-J a -o ProxyCommand=\"nc %h %p\"'",
     "host test1: both ProxyJump and ProxyCommand are set"),
    ("ansible_become=true ansible_become_method=su",
     "host test1: ansible_become_method=su is not supported (xenlab becomes with sudo)"),
])
def test_a_connection_variable_xenlab_cannot_follow_is_one_line(tmp_path, extra, cause):
    with pytest.raises(InventoryError) as failed:
        load_lab(connection_lab(tmp_path, extra))
    assert cause in str(failed.value) and "\n" not in str(failed.value)


@pytest.mark.parametrize("extra, jump, command", [
    ("ansible_ssh_common_args='-o ProxyJump=root@192.0.2.10'", "root@192.0.2.10", None),
    ("ansible_ssh_extra_args='-J admin@bastion:2222,root@192.0.2.10'",
     "admin@bastion:2222,root@192.0.2.10", None),
    ("ansible_ssh_common_args='-Jbastion'", "bastion", None),
    ("ansible_ssh_common_args='-o \"ProxyJump bastion\"'", "bastion", None),
    ("ansible_ssh_common_args='-o ProxyCommand=\"ssh -W %h:%p bastion\"'", None,
     "ssh -W %h:%p bastion"),
    ("ansible_ssh_common_args='-o ProxyJump=none'", None, None),
])
def test_jump_hosts_and_proxy_commands_are_read_as_ssh_would(tmp_path, extra, jump, command):
    test1, test2 = load_lab(connection_lab(tmp_path, extra)).xen_hosts
    assert (test1.proxy_jump, test1.proxy_command) == (jump, command)
    assert (test2.proxy_jump, test2.proxy_command) == (None, None)
    if jump:
        assert f"via {jump}" in test1.endpoint


def test_proxy_jump_hops_are_user_host_and_port():
    assert jump_hops("admin@bastion:2222, ssh://root@[2001:db8::1]:22,gw") == (
        JumpHop("bastion", 2222, "admin"), JumpHop("2001:db8::1", 22, "root"), JumpHop("gw"))
    for bad in ("", "host:0", "u@:22", "[::1]:x"):
        with pytest.raises(ValueError, match="is not \\[user@\\]host\\[:port\\]"):
            jump_hops(bad)


@pytest.mark.parametrize("extra, user, password", [
    ("ansible_become=true", "root", None),
    ("ansible_become=yes ansible_become_user=xen ansible_become_password=s3cret-pw", "xen",
     "s3cret-pw"),
    ("ansible_become=true ansible_become_pass=s3cret-pw", "root", "s3cret-pw"),
    ("ansible_become_user=root ansible_user=student", None, None),  # Ansible: no become
    ("ansible_become=false ansible_become_password=s3cret-pw", None, None),
])
def test_become_is_read_as_ansible_reads_it(tmp_path, extra, user, password):
    test1 = load_lab(connection_lab(tmp_path, extra)).xen_hosts[0]
    assert (test1.become_user, test1.become_password) == (user, password)
    assert "s3cret-pw" not in repr(test1) and "s3cret-pw" not in str(dict(test1.vars))
    if password:
        assert "s3cret-pw" in test1.secrets  # redacted from every command and output


def test_ansibles_key_file_known_hosts_and_host_key_checking_are_followed(tmp_path, monkeypatch):
    lab = load_lab(connection_lab(tmp_path, "ansible_private_key_file=~/.ssh/lab_key "
                                  "ansible_ssh_common_args='-o UserKnownHostsFile=/etc/lab_hosts'"))
    test1, test2 = lab.xen_hosts
    assert test1.key_file == os.path.expanduser("~/.ssh/lab_key")
    assert test1.known_hosts == "/etc/lab_hosts" and test1.host_key_checking
    loose = load_lab(connection_lab(tmp_path, "ansible_ssh_common_args='-o "
                                    "StrictHostKeyChecking=no'")).xen_hosts[0]
    assert not loose.host_key_checking
    assert not load_lab(connection_lab(tmp_path, "ansible_host_key_checking=false")
                        ).xen_hosts[0].host_key_checking
    assert test2.host_key_checking
    monkeypatch.setenv("ANSIBLE_HOST_KEY_CHECKING", "False")
    assert not load_lab(connection_lab(tmp_path, "")).xen_hosts[1].host_key_checking


# A class described once (examples/class, docs/class.md): ansible-core's generator plugin
# makes stu<N>-target/-test1/-test2 for every student N, its constructed plugin the
# addresses 172.16.N.x; group_vars/ hold the article's values and the roles.
CLASS_EXAMPLE = SHIPPED.parent / "examples" / "class"
STUDENTS = range(31, 41)
PER_STUDENT = ("iscsi_iqn", "iscsi_initiator_address", "guest_ip")


def test_the_class_example_is_one_lab_per_student_from_the_pattern():
    labs = load_labs(CLASS_EXAMPLE)
    assert [lab.name for lab in labs] == [f"stu{n}" for n in STUDENTS]
    article = load_lab(SHIPPED)
    for n, lab in zip(STUDENTS, labs):
        roles = {"target": lab.target, "test1": lab.source, "test2": lab.destination}
        for role, number in (("target", 3), ("test1", 1), ("test2", 2)):
            spec = roles[role]
            assert (spec.name, spec.address, spec.lab_ip, spec.port, spec.user) == (
                f"stu{n}-{role}", f"172.16.{n}.{number}", f"172.16.{n}.{number}", 22, "root")
        assert [h.name for h in lab.xen_hosts] == [f"stu{n}-test1", f"stu{n}-test2"]
        assert (lab.values.iscsi_iqn, lab.values.iscsi_initiator_address,
                lab.values.guest_ip) == (f"iqn.2015-02.com.stu{n}:t1", f"172.16.{n}.0/24",
                                         f"172.16.{n}.4")
        # every other lab variable is the article's, typed alike
        assert {k: v for k, v in vars(lab.values).items() if k not in PER_STUDENT} == {
            k: v for k, v in vars(article.values).items() if k not in PER_STUDENT}
    # student 31 is the article's own lab, variable for variable
    assert labs[0].values == article.values
    assert {k: v for k, v in labs[0].vars.items() if k != "student"} == dict(article.vars)


def test_a_class_from_the_pattern_holds_only_builtin_strings_for_xdists_workers():
    """ansible-core tags the strings it templated (the generator's host names, the compose's
    keys); xdist's channel refuses them ("can't serialize _AnsibleTaggedStr", seen on the
    box in class mode with -n 2). The labs carry plain str."""
    import execnet.gateway_base

    for lab in load_labs(CLASS_EXAMPLE):
        names = [lab.name, *(h.name for h in lab.hosts), *lab.vars,
                 *(k for h in lab.hosts for k in h.vars), *(v for h in lab.hosts for v in h.vars.values())]
        assert {type(n) for n in names} == {str}, {type(n) for n in names}
        execnet.gateway_base.dumps([lab.name, {h.name: dict(h.vars) for h in lab.hosts}])


def test_ansible_inventory_shows_the_class_xenlab_reads():
    """What docs/class.md shows of `ansible-inventory -i examples/class` is what it says."""
    tool = Path(sys.executable).parent / "ansible-inventory"
    docs = (SHIPPED.parent / "docs" / "class.md").read_text()
    for args in (["--graph", "stu31"], ["--host", "stu31-test1"]):
        shown = subprocess.run([str(tool), "-i", "examples/class", *args],
                               cwd=SHIPPED.parent, capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and not shown.stderr, shown.stderr
        assert f"$ ansible-inventory -i examples/class {' '.join(args)}\n{shown.stdout}" in docs


def class_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "class"
    shutil.copytree(CLASS_EXAMPLE, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("mistake, line", [
    (lambda c: edit(c / "01-students.yml", "role: [target, test1, test2]", "role: [target, test1]"),
     "{c}: lab stu31: group xen_hosts must have exactly 2 hosts, has 1 (stu31-test1)"),
    # a student added by hand, with no target
    (lambda c: (c / "03-late.ini").write_text("[stu41]\nstu41-test1\nstu41-test2\n"
                                              "[labs:children]\nstu41\n[test1]\nstu41-test1\n"
                                              "[test2]\nstu41-test2\n"),
     "{c}: lab stu41: group iscsi_target must have exactly 1 host, has 0"),
    (lambda c: edit(c / "group_vars" / "test2.yml", "migration_role: destination", ""),
     "{c}: lab stu31: host stu31-test2: migration_role must be source or destination, "
     "is not set"),
    # the misspelt role has no host number: the pattern cannot give its host an address
    (lambda c: edit(c / "01-students.yml", "role: [target, test1, test2]",
                    "role: [target, test1, tset2]"),
     "{c}/02-addresses.yml: ansible could not read this inventory source: Could not set "
     "lab_ip for host stu31-tset2: 'host_number' is undefined"),
    # the pattern written as Ansible's group_vars template: never sent as text
    (lambda c: (edit(c / "02-addresses.yml", "  guest_ip: \"'172.16.' ~ student ~ '.4'\"\n", ""),
                edit(c / "group_vars" / "labs.yml", "guest_name:",
                     "guest_ip: \"172.16.{{ student }}.4\"\nguest_name:")),
     "{c}: lab stu31: host stu31-target: guest_ip is a Jinja template "
     "('172.16.{{{{ student }}}}.4') that Ansible expands only when a play uses it; xenlab "
     "reads the values the inventory holds (`ansible-inventory --host stu31-target`): compute "
     "it when the inventory is read, with the constructed plugin's compose (docs/class.md)"),
    # a name the pattern does not define: the pattern is not applied, so no lab is
    (lambda c: edit(c / "02-addresses.yml", "'172.16.' ~ student ~ '.4'",
                    "'172.16.' ~ studnet ~ '.4'"),
     "{c}/02-addresses.yml: ansible could not read this inventory source: Could not set "
     "guest_ip for host stu31-target: 'studnet' is undefined"),
    (lambda c: edit(c / "02-addresses.yml", "ansible.builtin.constructed",
                    "ansible.builtin.construct"),
     "{c}/02-addresses.yml: ansible could not read this inventory source: inventory config "
     "'{c}/02-addresses.yml' specifies unknown plugin 'ansible.builtin.construct'"),
    # a source of no plugin's: ansible's warnings say why
    (lambda c: (c / "03-late.ini").write_text("[stu41\n"),
     "{c}/03-late.ini: ansible could not read this inventory source with its enabled "
     "inventory plugins ({enabled}); its warning above says why"),
], ids=["a role missing", "a student missing a role", "no migration role",
        "a role misspelt", "a template", "an undefined name", "a plugin misspelt",
        "an unreadable file"])
def test_a_mistake_in_the_class_pattern_is_one_line_naming_the_lab_and_host(
        tmp_path, mistake, line):
    from ansible import constants

    copy = class_copy(tmp_path)
    mistake(copy)
    assert error(copy) == line.format(c=copy, enabled=", ".join(constants.INVENTORY_ENABLED))


def test_a_secret_left_as_a_template_is_named_not_shown(tmp_path):
    copy = class_copy(tmp_path)
    edit(copy / "group_vars" / "labs.yml", "ansible_user: root",
         "ansible_user: root\nansible_password: \"{{ vault_lab_password }}\"")
    assert "ansible_password is a Jinja template (***)" in error(copy)
